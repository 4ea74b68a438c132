"""What makes two calls the same command, how its outcome is kept, and where a request's command
id comes from when the caller sent none (shared.commands, shared.rpc)."""
from datetime import datetime, timezone
from types import SimpleNamespace

import pytest
from nameko.exceptions import deserialize, serialize

from shared import auth, commands
from shared.errors import IdempotencyKeyReused, RuleViolation
from shared.rpc import CommandRpc

pytestmark = pytest.mark.unit

APPLICANT = auth.Caller("applicant-1", "applicant", "org-1")


def test_the_same_call_has_the_same_digest_whatever_the_order_of_its_arguments():
    one = commands.digest("intake", "save_section", {"section": "significance", "content": {"a": 1, "b": [2]}},
                          APPLICANT)
    two = commands.digest("intake", "save_section", {"content": {"b": [2], "a": 1}, "section": "significance"},
                          APPLICANT)
    assert one == two


def test_other_arguments_another_method_service_or_caller_make_another_digest():
    base = commands.digest("intake", "submit", {"application_id": "a", "expected_version": 3}, APPLICANT)
    others = {
        commands.digest("intake", "submit", {"application_id": "a", "expected_version": 4}, APPLICANT),
        commands.digest("intake", "withdraw", {"application_id": "a", "expected_version": 3}, APPLICANT),
        commands.digest("endorsement", "submit", {"application_id": "a", "expected_version": 3}, APPLICANT),
        commands.digest("intake", "submit", {"application_id": "a", "expected_version": 3},
                        auth.Caller("applicant-2", "applicant", "org-1")),
    }
    assert base not in others and len(others) == 4


def test_an_outcome_comes_back_as_it_went_on_the_wire():
    answer = {"application_id": "a", "version": 2, "at": datetime(2026, 6, 1, 2, tzinfo=timezone.utc), "n": None}
    assert commands.Outcome.from_json(commands.Outcome(result=answer).to_json()).give() == answer


def test_a_recorded_refusal_is_raised_again_as_its_own_class_with_its_details():
    refusal = RuleViolation.of("wrong_stage", "not now", stage="submitted")
    again = commands.Outcome.from_json(commands.Outcome(error=refusal).to_json())
    with pytest.raises(RuleViolation) as raised:
        again.give()
    assert (raised.value.message, raised.value.details) == ("not now", {"rule": "wrong_stage", "stage": "submitted"})


def test_a_reused_command_id_crosses_the_wire_as_its_class():
    error = IdempotencyKeyReused("used for another call", {"rule": "command_id_reused", "field": "command_id"})
    crossed = deserialize(serialize(error))
    assert isinstance(crossed, IdempotencyKeyReused) and crossed.details["field"] == "command_id"


def _message(headers: dict, correlation_id: str | None = "c0ffee"):
    return SimpleNamespace(headers=headers, properties={"correlation_id": correlation_id})


def test_a_request_without_a_command_id_takes_its_correlation_id_which_a_redelivery_keeps():
    entrypoint = CommandRpc.__new__(CommandRpc)
    assert entrypoint.unpack_message_headers(_message({"nameko.auth_token": "t"})) == {
        "auth_token": "t", "command_id": "amqp:c0ffee"}


def test_a_command_id_the_caller_sent_wins_over_the_correlation_id():
    entrypoint = CommandRpc.__new__(CommandRpc)
    assert entrypoint.unpack_message_headers(_message({"nameko.command_id": "mine"}))["command_id"] == "mine"
