"""Typed errors reach an RPC caller intact: each service's own from its `errors.py`, the ones
every service raises from shared.errors, and errors sent under their old path in shared."""
import ast
from pathlib import Path

import pytest
from nameko.exceptions import deserialize, serialize

from services.endorsement.errors import QuotaExceeded
from services.intake.errors import SubmissionWindowClosed
from services.review.errors import WrongStage as ReviewWrongStage
from shared.errors import InnobaseError, RuleViolation

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[2]


def test_a_service_error_comes_back_to_the_caller_as_its_class_with_its_details():
    sent = SubmissionWindowClosed.of("submission_window", "submissions close on 30 July", field="submitted_at")
    received = deserialize(serialize(sent))
    assert type(received) is SubmissionWindowClosed
    assert (received.code, received.rule, received.details) == (sent.code, "submission_window", sent.details)


def test_two_services_errors_of_the_same_name_stay_apart():
    assert ReviewWrongStage is not __import__("services.endorsement.errors", fromlist=["WrongStage"]).WrongStage
    assert type(deserialize(serialize(ReviewWrongStage("no")))) is ReviewWrongStage


def test_an_error_sent_under_its_former_path_in_shared_errors_comes_back_as_its_class():
    wire = serialize(QuotaExceeded.of("quota", "one regional base per region", held_by="A"))
    wire["exc_path"] = "shared.errors.endorsement.QuotaExceeded"
    received = deserialize(wire)
    assert type(received) is QuotaExceeded and received.details["held_by"] == "A"


def test_the_tools_register_every_services_errors():
    from innobase import remote_errors

    assert {"services.intake.errors", "services.endorsement.errors", "services.review.errors",
            "services.notification.errors"} <= set(remote_errors.SERVICE_ERRORS)


def test_shared_errors_hold_only_the_errors_more_than_one_service_raises():
    tree = ast.parse((ROOT / "shared" / "errors.py").read_text(encoding="utf-8"))
    defined = {node.name for node in tree.body if isinstance(node, ast.ClassDef)}
    assert defined == {"InnobaseError", "InvalidInput", "AuthenticationFailed", "NotAuthorized", "NotFound",
                       "ConcurrencyConflict", "RuleViolation", "ApplicationNotFound", "NotYourApplication",
                       "IdempotencyKeyReused"}  # every service's commands (shared.commands)
    assert issubclass(SubmissionWindowClosed, RuleViolation) and issubclass(QuotaExceeded, InnobaseError)
