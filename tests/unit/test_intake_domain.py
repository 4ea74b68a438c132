"""Intake's rules for drafting, submitting and withdrawing, without a database."""
import uuid

import pytest

from services.intake.domain import SUBMITTED, WITHDRAWN, Application, name_reads_as_a_base
from shared.errors import RuleViolation

pytestmark = pytest.mark.unit
ACTOR = {"party_id": "p", "role": "applicant", "organization": "o"}


def draft(**overrides):
    fields = dict(application_id=uuid.uuid4(), applicant_id="p", applicant_organization="o",
                  base_type="regional", name="国家技术标准创新基地（江苏）",
                  organizing_unit_id="ou", recommending_unit_id="ru", actor=ACTOR)
    fields.update(overrides)
    return Application.draft(**fields)


@pytest.mark.parametrize("name, ok", [
    ("国家技术标准创新基地（江苏）", True),
    ("国家技术标准创新基地（智能网联汽车）", True),
    ("国家技术标准创新基地(江苏)", False),
    ("技术标准创新基地（江苏）", False),
    ("国家技术标准创新基地（）", False),
])
def test_the_name_reads_national_technical_standard_innovation_base_with_its_scope(name, ok):
    assert name_reads_as_a_base(name) is ok


def test_a_draft_with_a_wrong_name_is_refused_naming_the_rule():
    with pytest.raises(RuleViolation) as error:
        draft(name="江苏基地")
    assert error.value.rule == "base_name"


def test_submitting_freezes_a_version_with_its_digest_and_receipt():
    application = draft()
    application.submit(ACTOR, "20260601")
    assert application.stage == SUBMITTED
    assert application.plan_version == 1
    assert len(application.latest_version["digest"]) == 64
    assert application.latest_version["receipt_number"].startswith("SB20260601-")


def test_the_same_content_gives_the_same_digest():
    assert draft().digest() == draft().digest()
    assert draft().digest() != draft(name="国家技术标准创新基地（浙江）").digest()


def test_a_submitted_version_cannot_be_submitted_again():
    application = draft()
    application.submit(ACTOR, "20260601")
    with pytest.raises(RuleViolation) as error:
        application.submit(ACTOR, "20260601")
    assert error.value.rule == "already_submitted"


def test_a_withdrawn_application_cannot_be_submitted():
    application = draft()
    application.withdraw(ACTOR, "merged with another applicant")
    assert application.stage == WITHDRAWN
    with pytest.raises(RuleViolation):
        application.submit(ACTOR, "20260601")
