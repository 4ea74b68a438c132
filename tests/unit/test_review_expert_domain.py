"""Expert review's and approval's rules (专家论证, 批准筹建) without a database."""
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from shared.reference.credit_code import make_credit_code
from services.review.expert_review.application import ExpertReview
from services.review.expert_review.domain import (
    APPROVED,
    CONCLUDED,
    DECLINED,
    REVISION_CONFIRMED,
    REVISION_OVERDUE,
    REVISION_RECEIVED,
    REVISION_REQUESTED,
    UNDER_REVIEW,
    Appraisal,
    BaseSlot,
    Expert,
    Opinion,
    Panel,
    conflicts_of,
    next_ordinal,
    plan_panel,
    scope_of,
)
from shared import contracts
from shared.rules import add_months
from shared.clock import BEIJING
from shared.errors import RuleViolation
from services.review.errors import (
    ConflictOfInterest,
    DomainBaseExists,
    DomainBaseLimitReached,
    NotAssigned,
    NotTheChair,
    OpinionAlreadySubmitted,
    OpinionsOutstanding,
    PanelSize,
    RegionalBaseExists,
    WrongStage,
)

pytestmark = pytest.mark.unit
OFFICER = {"party_id": "officer-1", "role": "officer", "organization": "SAC"}
CAUSE = {"source": "formal_review", "position": 9}
APPLICANT = make_credit_code("1", "2", "320000", "46600000")
ORGANIZING = make_credit_code("1", "1", "320000", "01400000")
RECOMMENDING = make_credit_code("1", "1", "320000", "01410000")
MEETING = datetime(2026, 9, 1, 1, 0, tzinfo=timezone.utc)
SCORES = {d: {"score": 80, "text": "合理"} for d in ("necessity", "feasibility", "goals_and_tasks", "safeguards")}
UNITS = {"OU-JS": ORGANIZING, "RU-JS": RECOMMENDING}


def expert(expert_id, organization=None, name=None, conflicts=()):
    return Expert.register(actor=OFFICER, expert_id=expert_id, name=name or f"专家{expert_id}",
                           organization=organization or make_credit_code(org_body=f"E{expert_id[-1]}000000"[:8]),
                           organization_name="某大学", region="110000", fields=["EQ.07"],
                           email=f"{expert_id}@example.cn", phone=None, conflicts=list(conflicts))


def appraisal(base_type="regional", **overrides):
    fields = dict(application_id=str(uuid.uuid4()), number="CXJD-2026-QY-001", plan_version=1,
                  name="国家技术标准创新基地（江苏）", base_type=base_type, region="320000",
                  domain="EQ.07" if base_type != "regional" else None, applicant_organization=APPLICANT,
                  applicant_name="江苏省标准化研究院", organizing_unit_id="OU-JS", recommending_unit_id="RU-JS")
    fields.update(overrides)
    return Appraisal.open(caused_by=CAUSE, **fields)


MEMBERS = ["e1", "e2", "e3", "e4", "e5"]


def on_panel(members=MEMBERS, chair="e1", **overrides):
    case = appraisal(**overrides)
    case.assign_panel(uuid.uuid4(), MEETING, "北京", OFFICER)
    for member in members:
        case.assign(member, member == chair, OFFICER)
    return case


def all_opinions_in(case):
    for member in case.active_experts():
        case.record_opinion(member, {"party_id": member, "role": "expert", "organization": "x"})
    return case


def concluded(conclusion="pass", **overrides):
    case = all_opinions_in(on_panel(**overrides))
    case.conclude("e1", conclusion, "建设必要、可行", {"party_id": "e1", "role": "expert", "organization": "x"})
    return case


# --- conflicts of interest ----------------------------------------------------------------

def test_an_expert_of_the_applicants_organization_is_excluded_and_says_why():
    reasons = conflicts_of(expert("e1", organization=APPLICANT), appraisal(), UNITS)
    assert [(r["rule"], r["party"]) for r in reasons] == [("same_organization", "applicant")]


def test_an_expert_of_the_organizing_or_recommending_unit_is_excluded_by_its_credit_code():
    assert [r["party"] for r in conflicts_of(expert("e1", organization=ORGANIZING), appraisal(), UNITS)] == [
        "organizing_unit"]
    assert [r["party"] for r in conflicts_of(expert("e1", organization=RECOMMENDING), appraisal(), UNITS)] == [
        "recommending_unit"]
    # without the unit's register entry only the unit id can be compared
    assert conflicts_of(expert("e1", organization=ORGANIZING), appraisal(), {}) == []


def test_a_declared_conflict_with_a_party_excludes_the_expert():
    declared = expert("e1", conflicts=[{"organization": APPLICANT, "reason": "former employer"}])
    reasons = conflicts_of(declared, appraisal(), UNITS)
    assert [r["rule"] for r in reasons] == ["declared_conflict"]
    assert "former employer" in reasons[0]["detail"]


def test_the_applicants_avoidance_list_excludes_the_named_expert_only():
    case = appraisal()
    case.request_avoidance(None, "专家e1", None, "competitor's adviser", {"party_id": "a", "role": "applicant",
                                                                          "organization": APPLICANT})
    assert [r["rule"] for r in conflicts_of(expert("e1"), case, UNITS)] == ["applicant_avoidance"]
    assert conflicts_of(expert("e2"), case, UNITS) == []


def test_an_avoidance_naming_a_name_and_an_organization_needs_both_to_match():
    case = appraisal()
    other = make_credit_code(org_body="X0000000")
    case.request_avoidance(None, "专家e1", other, "reason", OFFICER)
    assert conflicts_of(expert("e1"), case, UNITS) == []
    assert conflicts_of(expert("e1", organization=other), case, UNITS) != []


def test_avoidances_are_taken_only_before_the_panel_is_formed():
    case = on_panel()
    with pytest.raises(WrongStage):
        case.request_avoidance("e9", None, None, "too late", OFFICER)


# --- panels ---------------------------------------------------------------------------------

@pytest.mark.parametrize("members", [MEMBERS[:4], MEMBERS + ["e6"]])
def test_a_panel_has_at_least_five_experts_and_an_odd_number(members):
    with pytest.raises(PanelSize):
        plan_panel(members, "e1", {"app-1": {}})


def test_a_member_excluded_from_one_application_still_judges_the_others():
    reasons = [{"rule": "same_organization", "party": "applicant", "detail": "…"}]
    plan = plan_panel(MEMBERS + ["e6"], "e1", {"app-1": {"e6": reasons}, "app-2": {"e5": reasons}})
    assert plan["app-1"]["eligible"] == MEMBERS
    assert plan["app-2"]["eligible"] == ["e1", "e2", "e3", "e4", "e6"]


def test_a_conflict_that_leaves_an_even_number_refuses_the_panel_naming_who_was_excluded_and_why():
    reasons = [{"rule": "same_organization", "party": "applicant", "detail": "…"}]
    with pytest.raises(PanelSize) as error:
        plan_panel(MEMBERS + ["e6", "e7"], "e1", {"app-1": {"e7": reasons}})
    assert error.value.details["excluded"] == [{"expert_id": "e7", "reasons": reasons}]
    assert error.value.details["application_id"] == "app-1"


def test_conflicted_experts_are_left_out_of_that_application_only():
    reasons = [{"rule": "declared_conflict", "party": "applicant", "detail": "…"}]
    plan = plan_panel(MEMBERS + ["e6", "e7"], "e1", {"app-1": {"e6": reasons, "e7": reasons}, "app-2": {}})
    assert plan["app-1"]["eligible"] == MEMBERS
    assert plan["app-2"]["eligible"] == MEMBERS + ["e6", "e7"]


def test_the_chair_must_be_a_member_without_a_conflict():
    with pytest.raises(RuleViolation):
        plan_panel(MEMBERS, "e9", {})
    with pytest.raises(ConflictOfInterest):
        plan_panel(MEMBERS, "e1", {"app-1": {"e1": [{"rule": "same_organization"}]}})


def test_an_expert_is_assigned_once_and_an_application_has_one_chair():
    case = on_panel()
    with pytest.raises(RuleViolation) as error:
        case.assign("e2", False, OFFICER)
    assert error.value.rule == "assigned_once"
    with pytest.raises(RuleViolation) as error:
        case.assign("e6", True, OFFICER)
    assert error.value.rule == "one_chair"


def test_an_application_is_put_on_one_panel():
    case = on_panel()
    with pytest.raises(WrongStage):
        case.assign_panel(uuid.uuid4(), MEETING, "上海", OFFICER)


def test_an_expert_declines_with_a_typed_reason_and_the_chair_is_replaced():
    case = on_panel()
    case.decline_assignment("e1", "unavailable", "abroad that week", {"party_id": "e1"})
    assert case.assignments["e1"]["state"] == DECLINED and case.chair is None
    case.assign("e6", True, OFFICER)
    assert case.chair == "e6"
    with pytest.raises(NotAssigned):
        case.record_opinion("e1", {})


# --- opinions -----------------------------------------------------------------------------

def test_a_submitted_opinion_is_never_changed_and_cannot_be_followed_by_a_decline():
    case = on_panel()
    case.record_opinion("e2", {})
    with pytest.raises(OpinionAlreadySubmitted):
        case.record_opinion("e2", {})
    with pytest.raises(OpinionAlreadySubmitted):
        case.decline_assignment("e2", "other", "changed my mind", {})


def test_an_opinion_judges_the_four_dimensions():
    with pytest.raises(RuleViolation) as error:
        Opinion.submit(application_id=uuid.uuid4(), panel_id=uuid.uuid4(), expert_id="e1",
                       scores={"necessity": {"score": 1, "text": "x"}}, recommendation="pass", summary="x",
                       actor={})
    assert error.value.details["missing"] == ["feasibility", "goals_and_tasks", "safeguards"]
    opinion = Opinion.submit(application_id=uuid.uuid4(), panel_id=uuid.uuid4(), expert_id="e1",
                             scores={**SCORES, "necessity": {"score": 100, "text": "x"}}, recommendation="pass",
                             summary="x", actor={})
    assert opinion.total == 85.0


def test_only_assigned_experts_give_opinions():
    with pytest.raises(NotAssigned):
        on_panel().record_opinion("e9", {})


# --- the conclusion ---------------------------------------------------------------------------

def test_only_the_chair_concludes_and_only_when_every_opinion_is_in():
    case = on_panel()
    with pytest.raises(NotTheChair):
        case.conclude("e2", "pass", "x", {})
    case.record_opinion("e1", {})
    with pytest.raises(OpinionsOutstanding) as error:
        case.conclude("e1", "pass", "x", {})
    assert error.value.details["outstanding"] == 4


def test_after_a_decline_the_panel_concludes_only_with_an_odd_number_again():
    case = on_panel()
    case.decline_assignment("e5", "conflict_of_interest", "I advised the applicant last year", {})
    all_opinions_in(case)
    with pytest.raises(PanelSize):
        case.conclude("e1", "pass", "x", {})
    case.assign("e6", False, OFFICER)
    case.assign("e7", False, OFFICER)
    for replacement in ("e6", "e7"):
        case.record_opinion(replacement, {})
    with pytest.raises(PanelSize):  # six: still even
        case.conclude("e1", "pass", "x", {})
    case.assign("e8", False, OFFICER)
    case.record_opinion("e8", {})
    case.conclude("e1", "pass", "x", {})
    assert case.state == CONCLUDED


def test_a_scheduled_site_visit_must_be_recorded_before_the_conclusion():
    case = all_opinions_in(on_panel())
    case.schedule_site_visit(MEETING - timedelta(days=7), "南京", OFFICER)
    with pytest.raises(RuleViolation) as error:
        case.conclude("e1", "pass", "x", {})
    assert error.value.rule == "site_visit_recorded"
    case.record_site_visit("实验室条件与申报一致", OFFICER)
    case.conclude("e1", "pass", "x", {})
    assert case.site_visit["findings"] == "实验室条件与申报一致"


# --- revisions ----------------------------------------------------------------------------

def test_a_pass_with_revisions_round_from_request_to_the_chairs_confirmation():
    case = concluded("pass_with_revisions")
    request_id = case.next_request_id()
    case.request_revision(request_id, ["goals"], "quantify the indicators", MEETING + timedelta(days=30), OFFICER)
    assert case.state == REVISION_REQUESTED
    assert not case.receive_revision("other-request", 2, True, CAUSE)
    assert case.receive_revision(request_id, 2, True, CAUSE)
    assert case.state == REVISION_RECEIVED and case.plan_version == 2
    with pytest.raises(NotTheChair):
        case.confirm_revision("e2", "", {})
    case.confirm_revision("e1", "indicators now measurable", {})
    assert case.state == REVISION_CONFIRMED


def test_only_a_pass_with_revisions_asks_for_revisions():
    with pytest.raises(WrongStage):
        concluded("pass").request_revision("r", ["goals"], "x", MEETING, OFFICER)


def test_a_missed_revision_deadline_is_recorded_once_and_can_be_extended():
    case = concluded("pass_with_revisions")
    request_id = case.next_request_id()
    case.request_revision(request_id, ["goals"], "x", MEETING + timedelta(days=30), OFFICER)
    assert case.revision_overdue(request_id)
    assert not case.revision_overdue(request_id)
    assert case.state == REVISION_OVERDUE
    case.extend_revision(request_id, MEETING + timedelta(days=40), "the applicant asked", OFFICER)
    assert case.state == REVISION_REQUESTED
    assert case.current_revision["extensions"][0]["reason"] == "the applicant asked"


# --- approval -----------------------------------------------------------------------------

def slot(base_type="regional", scope="320000", ordinal=1):
    return BaseSlot.take(base_type=base_type, scope=scope, ordinal=ordinal, application_id=uuid.uuid4(),
                         number="CXJD-2025-QY-003", name="国家技术标准创新基地（苏州）", reason=None, actor=OFFICER)


def test_at_most_one_regional_base_per_region_and_the_error_names_the_existing_base():
    assert next_ordinal("regional", "320000", [], None) == 1
    with pytest.raises(RegionalBaseExists) as error:
        next_ordinal("regional", "320000", [slot()], "several clusters")
    assert error.value.details["existing"][0]["number"] == "CXJD-2025-QY-003"
    assert error.value.details["region"] == "320000"


def test_a_second_domain_base_needs_a_recorded_reason_and_a_third_is_never_approved():
    first = slot("domain", "EQ.07", 1)
    with pytest.raises(DomainBaseExists) as error:
        next_ordinal("domain", "EQ.07", [first], None)
    assert error.value.details["second_base_allowed_with_reason"] is True
    assert error.value.details["existing"][0]["name"] == "国家技术标准创新基地（苏州）"
    assert next_ordinal("domain", "EQ.07", [first], "两个产业集聚区：长三角、珠三角") == 2
    with pytest.raises(DomainBaseLimitReached):
        next_ordinal("domain", "EQ.07", [first, slot("domain", "EQ.07", 2)], "a third cluster")


def test_international_bases_have_no_limit_of_their_own():
    assert scope_of("international", None, "EQ.07") is None
    assert scope_of("regional", "320000", None) == "320000"


@pytest.mark.parametrize("approved, due", [
    (datetime(2026, 6, 1, 10, 0, tzinfo=BEIJING), datetime(2026, 9, 1, 10, 0, tzinfo=BEIJING)),
    (datetime(2026, 11, 30, 9, 0, tzinfo=BEIJING), datetime(2027, 2, 28, 9, 0, tzinfo=BEIJING)),
    (datetime(2026, 1, 31, 17, 0, tzinfo=timezone.utc), datetime(2026, 5, 1, 1, 0, tzinfo=BEIJING)),
])
def test_the_construction_plan_is_due_three_months_after_approval(approved, due):
    assert add_months(approved, 3) == due


def test_approval_follows_a_pass_or_a_confirmed_revision_and_never_a_fail():
    with pytest.raises(WrongStage):
        concluded("fail").check_approvable()
    with pytest.raises(WrongStage):
        on_panel().check_approvable()
    case = concluded("pass")
    due = case.approve("meets the guide", MEETING, None, None, OFFICER)
    assert case.state == APPROVED and case.construction_plan_due == due


def test_a_construction_plan_after_the_miss_is_recorded_as_late():
    case = concluded("pass")
    case.approve("ok", MEETING, None, None, OFFICER)
    assert case.construction_plan_missed()
    assert not case.construction_plan_missed()
    plan = {"sha256": "c" * 64, "name": "建设方案.pdf", "size": 1, "media_type": "application/pdf"}
    assert case.submit_construction_plan(plan, MEETING + timedelta(days=100), {}) is False
    with pytest.raises(RuleViolation):
        case.submit_construction_plan(plan, MEETING + timedelta(days=101), {})


def test_a_withdrawal_closes_the_review_but_not_an_approved_base():
    case = on_panel()
    assert case.close("withdrawn", CAUSE)
    approved = concluded("pass")
    approved.approve("ok", MEETING, None, None, OFFICER)
    assert not approved.close("withdrawn", CAUSE)


def test_every_published_fact_matches_its_contract():
    app = ExpertReview.__new__(ExpertReview)  # only the mapping, no database
    registered = expert("e1")
    registered.declare_conflict(APPLICANT, "former employer", OFFICER)
    case = on_panel(members=["e1", "e2", "e3", "e4", "e5", "e6"][:5])
    case.decline_assignment("e5", "unavailable", "ill", {})
    case.assign("e6", False, OFFICER)
    opinion = Opinion.submit(application_id=case.application_id, panel_id=case.panel_id, expert_id="e2",
                             scores=SCORES, recommendation="pass_with_revisions", summary="好", actor={})
    all_opinions_in(case)
    case.schedule_site_visit(MEETING, "南京", OFFICER)
    case.record_site_visit("一致", OFFICER)
    case.conclude("e1", "pass_with_revisions", "需修改考核指标", {})
    request_id = case.next_request_id()
    case.request_revision(request_id, ["goals"], "x", MEETING + timedelta(days=30), OFFICER)
    case.receive_revision(request_id, 2, True, CAUSE)
    case.confirm_revision("e1", "", {})
    case.approve("符合要求", MEETING, slot().describe(), None, OFFICER)
    case.submit_construction_plan({"sha256": "c" * 64, "name": "p.pdf", "size": 1, "media_type": "application/pdf"},
                                  MEETING, {})
    declined = concluded("fail")
    declined.decline_approval("论证未通过", OFFICER)
    panel = Panel.form(panel_id=uuid.uuid4(), meeting_date=MEETING, place="北京", application_ids=[uuid.uuid4()],
                       members=MEMBERS, chair="e1", actor=OFFICER)
    published = []
    events = (registered.collect_events() + panel.collect_events() + case.collect_events()
              + opinion.collect_events() + declined.collect_events())
    for position, domain_event in enumerate(events, start=1):
        described = app.integration_event(domain_event)
        if described is not None:
            event_type, version, payload = described
            contracts.build("expert_review", event_type, version, payload, event_id=str(uuid.uuid4()),
                            position=position, application_id=None, occurred_at=domain_event.timestamp.isoformat(),
                            actor=None, previous_position=None, caused_by=None)
            published.append(event_type)
    assert set(published) == {
        "ExpertRegistered", "PanelFormed", "ExpertAssigned", "ExpertDeclined", "SiteVisitScheduled",
        "SiteVisitRecorded", "PanelConcluded", "RevisionRequested", "RevisionConfirmed", "ApplicationApproved",
        "ConstructionPlanSubmitted", "OpinionSubmitted", "ApplicationDeclined"}
    assert published.count("ExpertAssigned") == 5 + 1 + 5
