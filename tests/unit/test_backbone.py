"""The backbone's pure rules: tokens, typed errors, contracts, input validation."""
from datetime import datetime, timezone
from uuid import uuid4

import pytest
from marshmallow import Schema, fields
from nameko.exceptions import deserialize, serialize

from shared import auth, clock, contracts
from shared.errors import AuthenticationFailed, InvalidInput, NotAuthorized, RuleViolation
from shared.rpc import query

pytestmark = pytest.mark.unit


@pytest.fixture
def fake_clock():
    fake = clock.FakeClock(datetime(2026, 6, 1, 2, 0, tzinfo=timezone.utc))
    previous = clock._clock
    clock.install(fake)
    yield fake
    clock.install(previous)


def test_a_minted_token_names_the_party_its_role_and_its_organization(fake_clock):
    caller = auth.verify(auth.mint("p-1", "applicant", "org-1"))
    assert (caller.party_id, caller.role, caller.organization) == ("p-1", "applicant", "org-1")


def test_an_expired_token_is_refused_by_the_injected_clock(fake_clock):
    token = auth.mint("p-1", "applicant", "org-1", ttl_seconds=60)
    fake_clock.advance(seconds=61)
    with pytest.raises(AuthenticationFailed) as error:
        auth.verify(token)
    assert error.value.details["rule"] == "token_expired"


def test_a_token_accepted_before_is_refused_once_it_expires(fake_clock):
    token = auth.mint("p-1", "applicant", "org-1", ttl_seconds=60)
    assert auth.verify(token).party_id == "p-1"  # checked once, then kept by the process
    fake_clock.advance(seconds=61)
    with pytest.raises(AuthenticationFailed) as error:
        auth.verify(token)
    assert error.value.details["rule"] == "token_expired"


def test_a_token_refused_once_is_refused_again_and_changes_no_verdict_for_others():
    forged = auth.mint("p-1", "officer", "SAC", secret="not-the-secret-but-just-as-long-as-it")
    for _ in range(2):
        with pytest.raises(AuthenticationFailed):
            auth.verify(forged)
    assert auth.verify(auth.mint("p-1", "officer", "SAC")).role == "officer"


def test_a_forged_token_is_refused():
    forged = auth.mint("p-1", "officer", "SAC", secret="not-the-secret-but-just-as-long-as-it")
    with pytest.raises(AuthenticationFailed) as error:
        auth.verify(forged)
    assert error.value.details["rule"] == "token_invalid"


def test_a_call_without_a_token_is_refused():
    with pytest.raises(AuthenticationFailed) as error:
        auth.verify(None)
    assert error.value.details["rule"] == "token_missing"


def test_a_role_outside_the_allowed_ones_is_not_authorized():
    caller = auth.Caller("p", "applicant", "o")
    with pytest.raises(NotAuthorized) as error:
        caller.require_role("officer")
    assert error.value.details["allowed"] == ["officer"]


def test_typed_errors_reach_the_caller_as_the_same_class_with_their_details():
    original = InvalidInput.for_fields({"name": ["Missing data for required field."]})
    received = deserialize(serialize(original))
    assert type(received) is InvalidInput
    assert received.fields == {"name": ["Missing data for required field."]}
    rule = deserialize(serialize(RuleViolation.of("base_name", "bad name", field="name", limit=5, items=[1, 2])))
    assert type(rule) is RuleViolation and rule.rule == "base_name"
    assert rule.details["limit"] == 5 and rule.details["items"] == [1, 2]


def _envelope(**overrides):
    message = {
        "event_id": str(uuid4()), "source": "intake", "position": 3, "type": "ApplicationWithdrawn",
        "version": 1, "application_id": str(uuid4()), "occurred_at": "2026-06-01T10:00:00+08:00",
        "actor": {"party_id": "p", "role": "applicant", "organization": "o"},
        "previous_position": 2, "caused_by": None,
        "payload": {"application_id": str(uuid4()), "reason": "r", "withdrawn_at": "2026-06-01T10:00:00+08:00"},
    }
    message.update(overrides)
    return message


def test_a_message_matching_its_contract_is_parsed():
    event = contracts.parse(_envelope())
    assert event.routing_key == "intake.ApplicationWithdrawn.v1"


@pytest.mark.parametrize("broken, reason", [
    ({"position": "three"}, "position"),
    ({"payload": {"reason": "r"}}, "application_id"),
    ({"version": 9}, "no contract for intake.ApplicationWithdrawn.v9"),
    ({"occurred_at": "2026-06-01T10:00:00"}, "occurred_at"),
])
def test_a_message_that_breaks_its_contract_is_refused_with_the_reason(broken, reason):
    with pytest.raises(contracts.ContractViolation) as error:
        contracts.parse(_envelope(**broken))
    assert reason in error.value.reason


def test_a_message_that_is_not_an_object_is_refused():
    with pytest.raises(contracts.ContractViolation):
        contracts.parse(["not", "an", "object"])


class _Schema(Schema):
    name = fields.String(required=True)
    count = fields.Integer(required=True)


class _FakeService:
    def __init__(self):
        self.calls = []

    def caller(self):
        return auth.Caller("p", "applicant", "o")

    @query(_Schema)
    def act(self, caller, data):
        self.calls.append(data)
        return data


def test_bad_input_names_every_bad_field_and_never_reaches_the_command():
    service = _FakeService()
    with pytest.raises(InvalidInput) as error:
        service.act(count="many", extra=1)
    assert set(error.value.fields) == {"name", "count", "extra"}
    assert service.calls == []


def test_good_input_reaches_the_command_loaded():
    service = _FakeService()
    assert service.act(name="x", count="3") == {"name": "x", "count": 3}


def test_text_that_cannot_be_stored_is_named_by_its_field_before_any_schema_sees_it():
    from shared.rpc import unstorable_text

    assert unstorable_text({"name": "ok", "content": {"items": [{"title": "a\x00b"}]}}) == {
        "content.items.0.title": ["Must not contain a NUL character."]}
    assert list(unstorable_text({"reason": "bad \ud800 half"})) == ["reason"]
    assert unstorable_text({"name": "国家技术标准创新基地（江苏）", "n": 3}) == {}


def test_a_token_that_is_not_text_is_refused_as_an_authentication_failure():
    from shared import auth
    from shared.errors import AuthenticationFailed

    with pytest.raises(AuthenticationFailed):
        auth.verify({"sub": "x"})


def test_a_list_is_sorted_only_by_a_column_its_schema_names_with_the_services_order_breaking_ties():
    from marshmallow import Schema, ValidationError

    from shared.listing import order_by, sort_field

    class Query(Schema):
        sort = sort_field(("name", "created_at"))

    assert Query().load({"sort": "-created_at"}) == {"sort": "-created_at"}
    with pytest.raises(ValidationError):
        Query().load({"sort": "name; DROP TABLE applications"})
    assert order_by("-created_at", "created_at, application_id") == \
        "created_at DESC NULLS LAST, created_at, application_id"
    assert order_by(None, "created_at, application_id") == "created_at, application_id"
