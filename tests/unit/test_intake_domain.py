"""Intake's rules for applications, without a database: the base name, the units the guide
allows, the submission window, freezing versions, reopening, progress and withdrawal."""
import json
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from services.intake import plan
from services.intake.domain import (
    APPROVED,
    DECLINED,
    FORWARDED,
    RETURNED,
    SUBMITTED,
    WITHDRAWN,
    Application,
    ApplicantUnit,
    Unit,
    applicant_id_of,
    check_unit_pair,
    in_submission_window,
    name_reads_as_a_base,
)
from shared.clock import BEIJING
from shared.errors import RuleViolation
from services.intake.errors import (
    ApplicationClosed,
    PlanIncomplete,
    SectionClosed,
    SubmissionWindowClosed,
    UnitPairNotAllowed,
)
from tests.support.applications import Setup, applicant_caller, sections

pytestmark = pytest.mark.unit
ACTOR = {"party_id": "p", "role": "applicant", "organization": "o"}
CAUSE = {"source": "endorsement", "position": 7}
IN_WINDOW = datetime(2026, 6, 1, 10, tzinfo=BEIJING)
BASIC = {"name": "国家技术标准创新基地（江苏）", "region": "320100", "domain": None, "organizing_unit_id": "ou",
         "recommending_unit_id": "ru", "head": None, "contact": None, "postcode": None, "address": None}


def draft(**basic):
    return Application.draft(application_id=uuid.uuid4(), applicant_id="p", applicant_organization="o",
                             base_type="regional", basic={**BASIC, **basic}, actor=ACTOR)


def frozen(application):
    return {"application_id": str(application.id), "base_type": application.base_type,
            "sections": dict(application.sections), "files": {}}


def submit(application, at=IN_WINDOW, found=()):
    serials = iter(range(1, 100))
    application.submit(at=at, frozen=frozen(application), found=list(found),
                       receipt_number=lambda: f"SB-{next(serials)}", actor=ACTOR)


def submitted(**basic):
    application = draft(**basic)
    submit(application)
    return application


@pytest.mark.parametrize("name, ok", [
    ("国家技术标准创新基地（江苏）", True),
    ("国家技术标准创新基地（智能网联汽车）", True),
    ("国家技术标准创新基地(江苏)", False),
    ("技术标准创新基地（江苏）", False),
    ("国家技术标准创新基地（）", False),
    ("国家技术标准创新基地（江苏）（南京）", False),
])
def test_the_name_reads_national_technical_standard_innovation_base_with_its_scope(name, ok):
    assert name_reads_as_a_base(name) is ok


def test_a_draft_with_a_wrong_name_is_refused_naming_the_rule():
    with pytest.raises(RuleViolation) as error:
        draft(name="江苏基地")
    assert error.value.rule == "base_name" and error.value.details["field"] == "name"


def test_a_regional_base_is_organized_by_the_local_authority_and_recommended_by_the_local_government():
    check_unit_pair("regional", "local_standardization_authority", "local_government")
    with pytest.raises(UnitPairNotAllowed) as error:
        check_unit_pair("regional", "industry_association", "local_government")
    assert error.value.rule == "organizing_unit_kind" and error.value.details["field"] == "organizing_unit_id"
    with pytest.raises(UnitPairNotAllowed) as error:
        check_unit_pair("regional", "local_standardization_authority", "industry_department")
    assert error.value.rule == "recommending_unit_kind"


@pytest.mark.parametrize("base_type", ["domain", "international"])
@pytest.mark.parametrize("organizing", ["industry_department_standardization_body", "industry_association",
                                        "local_standardization_authority"])
@pytest.mark.parametrize("recommending", ["industry_department", "industry_association", "local_government"])
def test_domain_and_international_bases_accept_industry_and_local_units(base_type, organizing, recommending):
    check_unit_pair(base_type, organizing, recommending)


def test_a_local_government_cannot_organize_a_domain_base():
    with pytest.raises(UnitPairNotAllowed):
        check_unit_pair("domain", "local_government", "industry_department")


def test_a_unit_of_a_kind_foreign_to_its_role_is_refused():
    with pytest.raises(RuleViolation) as error:
        Unit.register(unit_id="u", name="n", role="organizing", kind="local_government", region="320000",
                      domain=None, credit_code=None, contact=None, address=None, postcode=None, actor=ACTOR)
    assert error.value.rule == "unit_kind"


def test_a_local_body_needs_its_region_and_an_industry_body_its_domain():
    common = dict(unit_id="u", name="n", credit_code=None, contact=None, address=None, postcode=None, actor=ACTOR)
    with pytest.raises(RuleViolation, match="region"):
        Unit.register(role="recommending", kind="local_government", region=None, domain="EI", **common)
    with pytest.raises(RuleViolation, match="domain"):
        Unit.register(role="organizing", kind="industry_association", region="320000", domain=None, **common)


def test_an_applicant_units_id_is_its_credit_code():
    unit = ApplicantUnit.register(credit_code="91350100M000100Y43", name="n", category="enterprise",
                                  region="350100", region_known=True, head={}, contact={}, postcode="350000",
                                  address="a", credit_code_override=None, actor=ACTOR)
    assert unit.id == applicant_id_of("91350100M000100Y43")
    assert unit.as_dict()["unit_id"] == "91350100M000100Y43"


@pytest.mark.parametrize("beijing, accepted", [
    ("2026-05-04T23:59:59", False),
    ("2026-05-05T00:00:00", True),
    ("2026-06-01T10:00:00", True),
    ("2026-07-30T23:59:59", True),
    ("2026-07-31T00:00:00", False),
    ("2026-12-01T09:00:00", False),
])
def test_submissions_are_accepted_from_5_may_to_30_july_beijing_time(beijing, accepted):
    instant = datetime.fromisoformat(beijing).replace(tzinfo=BEIJING).astimezone(timezone.utc)
    assert in_submission_window(instant) is accepted


def test_the_first_submission_outside_the_window_is_refused():
    application = draft()
    with pytest.raises(SubmissionWindowClosed) as error:
        submit(application, at=datetime(2026, 8, 2, 9, tzinfo=BEIJING))
    assert error.value.rule == "submission_window"
    assert application.plan_version == 0


def test_an_officers_exception_lets_a_late_submission_in_and_is_recorded_with_it():
    application = draft()
    application.grant_late_submission("材料因疫情延误，经批准延期受理", {"party_id": "o1", "role": "officer",
                                                                    "organization": "SAC"})
    submit(application, at=datetime(2026, 8, 2, 9, tzinfo=BEIJING))
    assert application.latest_version["late_exception"] == "材料因疫情延误，经批准延期受理"


def test_an_incomplete_plan_is_refused_with_its_problems_by_section():
    application = draft()
    found = [plan.Problem("goals", "goals.goal", "missing", "目标未填写"),
             plan.Problem("basic", "basic.address", "missing", "通讯地址未填写")]
    with pytest.raises(PlanIncomplete) as error:
        submit(application, found=found)
    assert set(error.value.details["problems"]) == {"goals", "basic"}
    assert application.stage == "draft"


def test_submitting_freezes_a_version_with_its_digest_and_receipt():
    application = submitted()
    assert application.stage == SUBMITTED and application.plan_version == 1
    version = application.latest_version
    assert version["digest"] == plan.digest(version["plan"]) and len(version["digest"]) == 64
    assert version["receipt_number"] == "SB-1"
    assert version["submission_kind"] == "initial" and version["changed_sections"] == list(plan.SECTION_TITLES)


def test_after_submission_every_section_is_closed():
    application = submitted()
    assert application.open_sections == []
    with pytest.raises(SectionClosed) as error:
        application.save_section("significance", {"significance": "x", "necessity": None}, ACTOR)
    assert error.value.details["section"] == "significance"
    with pytest.raises(RuleViolation) as error:
        submit(application)
    assert error.value.rule == "already_submitted"


def test_a_return_reopens_only_the_named_sections_and_the_answer_is_a_new_version():
    application = submitted()
    assert application.reopen(kind="returned", sections=["goals", "significance"], reason="目标不够具体",
                              request_id="R-1", requested_by="endorsement", deadline=None, caused_by=CAUSE)
    assert application.stage == RETURNED
    assert application.open_sections == ["significance", "goals"]
    with pytest.raises(SectionClosed):
        application.save_section("safeguards", {}, ACTOR)
    application.save_section("significance", {"significance": "更具体的意义", "necessity": "必要"}, ACTOR)
    # an answer is accepted outside the window
    submit(application, at=datetime(2026, 9, 1, tzinfo=BEIJING))
    version = application.latest_version
    assert (version["plan_version"], version["submission_kind"], version["answers_request"]) == (2, "returned", "R-1")
    assert version["changed_sections"] == ["significance"]
    assert application.stage == SUBMITTED and application.open_sections == []
    assert application.version_of(1)["plan"]["sections"]["significance"] is None


def test_a_supplement_request_shows_its_deadline_until_answered():
    application = submitted()
    deadline = IN_WINDOW + timedelta(days=10)
    application.reopen(kind="supplement", sections=["attachments"], reason="补充证明材料", request_id="S-1",
                       requested_by="formal_review", deadline=deadline, caused_by=CAUSE)
    assert (application.deadline, application.deadline_kind) == (deadline, "supplement")
    # progress reported meanwhile does not hide the open request
    application.record_progress(reported="ApplicationAccepted", stage="formal_review", number="CXJD-2026-001",
                                caused_by=CAUSE)
    assert application.stage == "supplement_requested" and application.number == "CXJD-2026-001"
    assert application.deadline == deadline
    submit(application)
    assert application.stage == "formal_review" and application.deadline is None


def test_progress_of_later_stages_moves_the_stage_on():
    application = submitted()
    application.record_progress(reported="ApplicationForwarded", stage=FORWARDED, caused_by=CAUSE,
                                opinion={"text": "同意", "head": "张华", "date": "2026-06-10"})
    assert application.stage == FORWARDED and application.organizing_opinion["head"] == "张华"


def test_a_decision_that_ends_the_application_closes_reopened_sections():
    application = submitted()
    application.reopen(kind="revision", sections=["goals"], reason="r", request_id="V-1",
                       requested_by="expert_review", deadline=IN_WINDOW + timedelta(days=20), caused_by=CAUSE)
    application.record_progress(reported="ApplicationDeclined", stage=DECLINED, caused_by=CAUSE)
    assert application.stage == DECLINED and application.open_sections == [] and application.deadline is None


def test_nothing_reopens_a_withdrawn_application():
    application = submitted()
    application.withdraw("与合作单位合并申报", ACTOR)
    assert not application.reopen(kind="returned", sections=["goals"], reason="r", request_id="R",
                                  requested_by="endorsement", deadline=None, caused_by=CAUSE)
    assert not application.record_progress(reported="ApplicationForwarded", stage=FORWARDED, caused_by=CAUSE)
    assert application.stage == WITHDRAWN


def test_an_applicant_may_withdraw_before_approval_but_not_after():
    application = submitted()
    application.withdraw("调整申报方向", ACTOR)
    assert application.stage == WITHDRAWN and application.withdrawal_reason == "调整申报方向"
    approved = submitted()
    approved.record_progress(reported="ApplicationApproved", stage=APPROVED, caused_by=CAUSE,
                             deadline=IN_WINDOW + timedelta(days=90), deadline_kind="construction_plan")
    assert approved.deadline_kind == "construction_plan"
    with pytest.raises(ApplicationClosed):
        approved.withdraw("too late", ACTOR)


def test_a_withdrawn_application_cannot_be_submitted_or_changed():
    application = draft()
    application.withdraw("merged with another applicant", ACTOR)
    with pytest.raises(ApplicationClosed):
        submit(application)
    with pytest.raises(ApplicationClosed):
        application.save_section("goals", {}, ACTOR)


def test_the_same_bytes_uploaded_twice_are_one_file():
    application = draft()
    attachment = {"sha256": "a" * 64, "name": "a.pdf", "size": 9, "media_type": "application/pdf",
                  "uploaded_by": "p"}
    assert application.attach(attachment, ACTOR) is True
    assert application.attach({**attachment, "name": "again.pdf"}, ACTOR) is False
    assert application.files["a" * 64]["name"] == "a.pdf"


def test_the_digest_survives_a_round_trip_through_json():
    setup = Setup(applicant_caller(), "regional", "OU", "RU", "320100", None)
    content = sections(setup, {i: f"{i:064x}" for i in range(1, 7)}, [("letter", "f" * 64)])
    frozen_plan = plan.freeze(application_id=str(uuid.uuid4()), base_type="regional", sections=content,
                              files={}, applicant=None, organizing_unit=None, recommending_unit=None)
    assert plan.digest(json.loads(json.dumps(frozen_plan))) == plan.digest(frozen_plan)
    changed = json.loads(json.dumps(frozen_plan))
    changed["sections"]["goals"]["indicators"][0]["target_value"] = 11
    assert plan.digest(changed) != plan.digest(frozen_plan)
