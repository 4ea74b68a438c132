"""Expert review (专家论证) and approval (批准筹建) through the real service: the register,
conflict-free panels, blind opinions, the conclusion and its revision round, approval
within the guide's limits and the construction plan. Formal review and intake are
played by publishing their events."""
import base64
import uuid

import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from shared.errors import AuthenticationFailed, InnobaseError, NotAuthorized, NotYourApplication, RuleViolation
from services.review.errors import (
    DomainBaseExists,
    DomainBaseLimitReached,
    ExpertAlreadyRegistered,
    NotAssigned,
    NotTheChair,
    OpinionAlreadySubmitted,
    OpinionsOutstanding,
    PanelSize,
    RegionalBaseExists,
    WrongStage,
)
from tests.integration.test_review_support import (
    PDF,
    TEST_START,
    Application,
    after_days,
    count_of,
    expert_token,
    credit_code,
    log_position,
    officer,
    opinion,
    pdf_base64,
    register,
    topics,
    wait_for_review,
)
from tests.support.clock import set_time
from tests.support.cluster import eventually, rpc, running, sql, token

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def cluster():
    set_time(TEST_START)
    with running("expert_review", INNOBASE_DEADLINE_SCAN_SECONDS="0.5") as cluster:
        yield cluster
    set_time(TEST_START)


@pytest.fixture(scope="module")
def pool(cluster):
    """Eleven experts with no tie to any application of these tests."""
    return [register() for _ in range(11)]


def in_review(base_type="international", region=None, domain=None) -> Application:
    application = Application(base_type, region=region, domain=domain)
    application.units_registered()
    application.plan_version = 1  # submitted, recommended and formally reviewed before
    application.formal_review_passed()
    wait_for_review(application.application_id, "awaiting_panel")
    eventually(lambda: sql("expert_review", "SELECT count(*) FROM units WHERE unit_id IN (%s, %s)",
                           application.organizing_unit_id, application.recommending_unit_id)[0][0] == 2)
    return application


def form_panel(applications, members, chair=None, **extra) -> dict:
    with rpc(officer()) as services:
        return services.expert_review.form_panel(
            application_ids=[a.application_id for a in applications], members=members, chair=chair or members[0],
            meeting_date=after_days(30).isoformat(), place="北京市海淀区马甸东路9号", **extra)


def concluded(applications, members, conclusion="pass"):
    form_panel(applications, members)
    for application in applications:
        for member in members:
            opinion(application, member)
        with rpc(expert_token(members[0])) as services:
            services.expert_review.conclude(application_id=application.application_id, conclusion=conclusion,
                                            text="建设必要，方案可行")


def approve(application, **extra) -> dict:
    with rpc(officer()) as services:
        return services.expert_review.approve(application_id=application.application_id,
                                              reasons="符合创新基地建设要求", **extra)


# --- the register -------------------------------------------------------------------------

def test_the_officer_registers_experts_and_the_register_is_published(cluster):
    expert_id = register(name="李四")
    with rpc(officer()) as services:
        with pytest.raises(ExpertAlreadyRegistered):
            register(expert_id=expert_id)
        with pytest.raises(RuleViolation) as error:
            services.expert_review.register_expert(
                expert_id="bad-code", name="王五", organization="91320000MA1XXXXX9X", organization_name="x",
                region="110000", fields=["EQ.07"], email="w@example.cn")
        assert error.value.rule == "credit_code"
        listed = services.expert_review.experts(field="EQ.07", limit=1000)
    assert expert_id in [e["expert_id"] for e in listed]
    with rpc(token("applicant")) as services:
        with pytest.raises(NotAuthorized):
            services.expert_review.experts()
    assert sql("expert_review", "SELECT count(*) FROM expertreview_events WHERE topic LIKE %s"
                                " AND convert_from(state, 'UTF8') LIKE %s", "%Registered", f"%{expert_id}%") == [(1,)]


def test_an_expert_declares_their_own_conflicts_and_the_officer_anyones(cluster, pool):
    expert_id = register()
    organization = credit_code()
    with rpc(expert_token(expert_id)) as services:
        declared = services.expert_review.declare_conflict(organization=organization, reason="兼职顾问")
        with pytest.raises(NotYourApplication):
            services.expert_review.declare_conflict(expert_id=pool[0], organization=organization, reason="x")
    assert declared["conflicts"] == [{"organization": organization, "reason": "兼职顾问"}]
    with rpc(officer()) as services:
        services.expert_review.declare_conflict(expert_id=expert_id, organization=credit_code(), reason="亲属任职")
        listed = {e["expert_id"]: e for e in services.expert_review.experts(limit=1000)}
    assert len(listed[expert_id]["conflicts"]) == 2


# --- panels -------------------------------------------------------------------------------

def test_a_panel_leaves_out_conflicted_experts_of_an_application_and_says_why(cluster, pool):
    application = in_review()
    same_as_applicant = register(organization=application.applicant_organization)
    same_as_organizing_unit = register(organization=application.organizing_credit_code)
    declared = register(conflicts=[{"organization": application.recommending_credit_code,
                                    "reason": "曾任推荐单位顾问"}])
    avoided = register(name="赵六")
    with rpc(application.applicant()) as services:
        services.expert_review.request_avoidance(application_id=application.application_id, expert_name="赵六",
                                                 reason="竞争对手的技术顾问")
    members = pool[:5] + [same_as_applicant, same_as_organizing_unit, declared, avoided]
    with rpc(officer()) as services:
        preview = services.expert_review.check_panel(application_ids=[application.application_id], members=members,
                                                     chair=pool[0])
    assert preview["problems"] == []
    reasons = {e["expert_id"]: [r["rule"] for r in e["reasons"]] for e in preview["applications"][0]["excluded"]}
    assert reasons == {same_as_applicant: ["same_organization"], same_as_organizing_unit: ["same_organization"],
                       declared: ["declared_conflict"], avoided: ["applicant_avoidance"]}

    panel = form_panel([application], members, chair=pool[0])
    assert panel["applications"][0]["eligible"] == pool[:5]
    review = wait_for_review(application.application_id, "under_review")
    assert set(review["exclusions"]) == set(reasons) and sorted(review["assignments"]) == sorted(pool[:5])
    names = topics("expert_review", application.application_id)
    assert names.count("ExpertAssigned") == 5 and names.count("ExpertExcluded") == 4
    with rpc(application.applicant()) as services:
        seen = services.expert_review.get_review(application_id=application.application_id)
    assert "assignments" not in seen and "exclusions" not in seen and "panel_id" not in seen


def test_a_panel_too_small_or_even_is_refused_and_changes_nothing(cluster, pool):
    application = in_review()
    before = log_position("expert_review")
    with pytest.raises(PanelSize):
        form_panel([application], pool[:4])
    with pytest.raises(PanelSize):
        form_panel([application], pool[:6])
    conflicted = register(organization=application.applicant_organization)
    with pytest.raises(PanelSize) as error:  # seven members, one excluded: six judges
        form_panel([application], pool[:6] + [conflicted])
    assert error.value.details["excluded"][0]["expert_id"] == conflicted
    assert log_position("expert_review") == before + 1  # only the registration


def test_the_same_panel_request_twice_forms_one_panel(cluster, pool):
    application = in_review()
    form_panel([application], pool[:5], request_id="meeting-2026-09")
    with pytest.raises(WrongStage):
        form_panel([application], pool[:5], request_id="meeting-2026-09")
    assert count_of("expert_review", "ExpertAssigned", application.application_id) == 5


def test_experts_see_only_what_they_are_assigned(cluster, pool):
    application = in_review()
    form_panel([application], pool[:5])
    with rpc(expert_token(pool[1])) as services:
        mine = services.expert_review.my_assignments()
        seen = services.expert_review.get_review(application_id=application.application_id)
    assert application.application_id in [a["application_id"] for a in mine]
    assert seen["my_assignment"]["is_chair"] is False and "avoidances" not in seen
    with rpc(expert_token(pool[9])) as services:
        assert application.application_id not in [a["application_id"] for a in
                                                   services.expert_review.my_assignments()]
        with pytest.raises(NotAssigned):
            services.expert_review.get_review(application_id=application.application_id)
        with pytest.raises(NotAssigned):
            services.expert_review.opinions(application_id=application.application_id)
        with pytest.raises(NotAssigned):
            opinion(application, pool[9])


def test_a_panel_member_sees_the_panel_with_only_the_applications_they_judge(cluster, pool):
    first, second = in_review(), in_review()
    conflicted = register(organization=second.applicant_organization)
    declared = register(conflicts=[{"organization": second.organizing_credit_code, "reason": "兼职"}])
    panel = form_panel([first, second], pool[:5] + [conflicted, declared])  # 7 judge the first, 5 the second
    assert [len(a["eligible"]) for a in panel["applications"]] == [7, 5]
    with rpc(expert_token(conflicted)) as services:
        seen = services.expert_review.get_panel(panel_id=panel["panel_id"])
    assert seen["application_ids"] == [first.application_id]
    with rpc(officer()) as services:
        assert sorted(services.expert_review.get_panel(panel_id=panel["panel_id"])["application_ids"]) == sorted(
            [first.application_id, second.application_id])
        listed = services.expert_review.reviews(state="under_review", limit=1000)
    assert {first.application_id, second.application_id} <= {i["application_id"] for i in listed["items"]}
    with rpc(expert_token(pool[9])) as services:
        with pytest.raises(NotAssigned):
            services.expert_review.get_panel(panel_id=panel["panel_id"])


# --- opinions -------------------------------------------------------------------------------

def test_opinions_are_blind_until_ones_own_is_in_and_a_submitted_opinion_never_changes(cluster, pool):
    application = in_review()
    form_panel([application], pool[:5])
    opinion(application, pool[1], score=90)
    with rpc(expert_token(pool[2])) as services:
        blind = services.expert_review.opinions(application_id=application.application_id)
    assert blind["hidden"] is True and blind["opinions"] == [] and blind["submitted"] == 1
    opinion(application, pool[2], score=70)
    with rpc(expert_token(pool[2])) as services:
        seen = services.expert_review.opinions(application_id=application.application_id)
    assert seen["hidden"] is False and {o["expert_id"] for o in seen["opinions"]} == {pool[1], pool[2]}
    with pytest.raises(OpinionAlreadySubmitted):
        opinion(application, pool[2], score=10)
    with rpc(officer()) as services:
        every = services.expert_review.opinions(application_id=application.application_id)
    assert every["averages"]["necessity"] == 80.0
    assert count_of("expert_review", "Submitted", application.application_id) == 2


def test_an_expert_declines_with_a_typed_reason_and_the_officer_adds_a_replacement(cluster, pool):
    application = in_review()
    panel = form_panel([application], pool[:5])
    with rpc(expert_token(pool[4])) as services:
        services.expert_review.decline_assignment(application_id=application.application_id,
                                                  reason_kind="conflict_of_interest",
                                                  reason="去年为申报单位提供过咨询")
    for member in pool[:4]:
        opinion(application, member)
    with rpc(expert_token(pool[0])) as services:
        with pytest.raises(PanelSize):
            services.expert_review.conclude(application_id=application.application_id, conclusion="pass", text="x")
    with rpc(officer()) as services:
        services.expert_review.add_panel_member(panel_id=panel["panel_id"], expert_id=pool[5])
    with rpc(expert_token(pool[0])) as services:
        with pytest.raises(OpinionsOutstanding):
            services.expert_review.conclude(application_id=application.application_id, conclusion="pass", text="x")
    opinion(application, pool[5])
    with rpc(expert_token(pool[1])) as services:
        with pytest.raises(NotTheChair):
            services.expert_review.conclude(application_id=application.application_id, conclusion="pass", text="x")
    with rpc(expert_token(pool[0])) as services:
        review = services.expert_review.conclude(application_id=application.application_id, conclusion="pass",
                                                 text="同意通过论证")
    assert review["state"] == "concluded" and review["conclusion"] == "pass"
    names = topics("expert_review", application.application_id)
    assert names.count("ExpertDeclined") == 1 and names.count("ExpertAssigned") == 6


def test_a_site_visit_is_scheduled_then_recorded_before_the_conclusion(cluster, pool):
    application = in_review()
    form_panel([application], pool[:5])
    with rpc(officer()) as services:
        services.expert_review.schedule_site_visit(application_id=application.application_id,
                                                   visit_date=after_days(20).isoformat(), place="南京市")
    for member in pool[:5]:
        opinion(application, member)
    with rpc(expert_token(pool[0])) as services:
        with pytest.raises(RuleViolation) as error:
            services.expert_review.conclude(application_id=application.application_id, conclusion="pass", text="x")
        assert error.value.rule == "site_visit_recorded"
        services.expert_review.record_site_visit(application_id=application.application_id,
                                                 findings="场地、人员与申报方案一致")
        review = services.expert_review.conclude(application_id=application.application_id, conclusion="pass",
                                                 text="x")
    assert review["site_visit"]["findings"] == "场地、人员与申报方案一致"
    with rpc(application.applicant()) as services:
        assert "findings" not in services.expert_review.get_review(
            application_id=application.application_id)["site_visit"]


# --- the conclusion, revisions and approval ---------------------------------------------------

def test_a_pass_with_revisions_reopens_sections_and_the_chair_confirms_the_revised_version(cluster, pool):
    application = in_review("regional", region="310000")
    form_panel([application], pool[:5])
    for member in pool[:5]:
        opinion(application, member, recommendation="pass_with_revisions")
    with rpc(expert_token(pool[0])) as services:
        review = services.expert_review.conclude(
            application_id=application.application_id, conclusion="pass_with_revisions", text="考核指标需量化",
            revision={"sections": ["goals"], "reason": "考核指标需量化", "deadline": after_days(45).isoformat()})
    request_id = review["revisions"][0]["request_id"]
    assert review["state"] == "revision_requested"
    with rpc(officer()) as services:
        with pytest.raises(WrongStage):
            approve(application)
    application.submitted(kind="revision", answers=request_id, sections=["goals"])
    wait_for_review(application.application_id, "revision_received")
    with rpc(expert_token(pool[0])) as services:
        review = services.expert_review.confirm_revision(application_id=application.application_id,
                                                         note="指标已量化")
    assert review["state"] == "revision_confirmed" and review["plan_version"] == 2
    review = approve(application)
    assert review["state"] == "approved"
    assert review["construction_plan_due"][:10] == "2026-09-01"  # approved on 1 June: three months
    names = topics("expert_review", application.application_id)
    assert ["Concluded", "RevisionRequested", "RevisionReceived", "RevisionConfirmed", "Approved"] == [
        n for n in names if n in ("Concluded", "RevisionRequested", "RevisionReceived", "RevisionConfirmed",
                                  "Approved")]


def test_the_chair_asks_for_another_round_when_a_revised_version_falls_short(cluster, pool):
    application = in_review()
    concluded_with_revisions = form_panel([application], pool[:5])
    assert concluded_with_revisions["applications"][0]["eligible"] == pool[:5]
    for member in pool[:5]:
        opinion(application, member)
    with rpc(expert_token(pool[0])) as services:
        review = services.expert_review.conclude(
            application_id=application.application_id, conclusion="pass_with_revisions", text="x",
            revision={"sections": ["goals"], "reason": "第一轮", "deadline": after_days(20).isoformat()})
    application.submitted(kind="revision", answers=review["revisions"][0]["request_id"], sections=["goals"])
    wait_for_review(application.application_id, "revision_received")
    with rpc(expert_token(pool[0])) as services:
        review = services.expert_review.request_revision(
            application_id=application.application_id, sections=["goals", "safeguards"], reason="第二轮：保障措施不足",
            deadline=after_days(40).isoformat())
    assert [r["state"] for r in review["revisions"]] == ["received", "open"]
    application.submitted(kind="revision", answers=review["revisions"][1]["request_id"], sections=["safeguards"])
    wait_for_review(application.application_id, "revision_received")
    assert count_of("expert_review", "RevisionRequested", application.application_id) == 2


def test_a_missed_revision_deadline_is_recorded_once_and_the_officer_extends_it(cluster, pool):
    application = in_review()
    form_panel([application], pool[:5])
    for member in pool[:5]:
        opinion(application, member)
    with rpc(expert_token(pool[0])) as services:
        services.expert_review.conclude(
            application_id=application.application_id, conclusion="pass_with_revisions", text="x",
            revision={"sections": ["safeguards"], "reason": "资金来源不明", "deadline": after_days(10).isoformat()})
    try:
        set_time(after_days(11))
        wait_for_review(application.application_id, "revision_overdue")
        names = topics("expert_review", application.application_id)
        assert names.count("DeadlineMissed") == 1 and names.count("RevisionOverdue") == 1
        with rpc(officer()) as services:
            review = services.expert_review.extend_deadline(
                application_id=application.application_id, kind="revision",
                new_deadline=after_days(30).isoformat(), reason="申报单位换届，需延期")
        assert review["state"] == "revision_requested"
        assert review["revisions"][0]["extensions"][0]["reason"] == "申报单位换届，需延期"
    finally:
        set_time(TEST_START)


def test_one_regional_base_per_region_and_one_domain_base_per_domain_unless_a_reason_is_recorded(cluster, pool):
    first_regional, second_regional = in_review("regional", region="330000"), in_review("regional", region="330000")
    domains = [in_review("domain", domain="EI.01") for _ in range(3)]
    concluded([first_regional, second_regional, *domains], pool[:5])
    approve(first_regional)
    before = log_position("expert_review")
    with pytest.raises(RegionalBaseExists) as error:
        approve(second_regional, second_base_reason="两个产业集群")
    assert error.value.details["existing"][0]["number"] == first_regional.number
    approve(domains[0])
    with pytest.raises(DomainBaseExists) as error:
        approve(domains[1])
    assert error.value.details["existing"][0]["application_id"] == domains[0].application_id
    assert log_position("expert_review") == before + 3  # approval, its slot, its deadline
    review = approve(domains[1], second_base_reason="长三角、珠三角两个集成电路产业集聚区")
    assert review["decision"]["second_base_reason"].startswith("长三角")
    with pytest.raises(DomainBaseLimitReached):
        approve(domains[2], second_base_reason="第三个集聚区")
    with rpc(officer()) as services:
        bases = services.expert_review.approved_bases()
        services.expert_review.decline(application_id=domains[2].application_id, reasons="领域创新基地已满")
    assert [(b["scope"], b["ordinal"]) for b in bases if b["scope"] in ("330000", "EI.01")] == [
        ("330000", 1), ("EI.01", 1), ("EI.01", 2)]
    assert topics("expert_review", domains[2].application_id)[-1] == "ApprovalDeclined"


def test_a_failed_review_is_declined_not_approved(cluster, pool):
    application = in_review()
    concluded([application], pool[:5], conclusion="fail")
    with pytest.raises(WrongStage):
        approve(application)
    with rpc(officer()) as services:
        review = services.expert_review.decline(application_id=application.application_id, reasons="论证未通过")
    assert review["state"] == "declined" and review["decision"]["reasons"] == "论证未通过"


# --- the construction plan ---------------------------------------------------------------------

def test_the_organizing_unit_submits_the_construction_plan_against_its_due_date(cluster, pool):
    application = in_review()
    concluded([application], pool[:5])
    approve(application)
    with rpc(token("organizing_unit", org="another-unit")) as services:
        with pytest.raises(NotYourApplication):
            services.expert_review.submit_construction_plan(application_id=application.application_id,
                                                            file_name="建设方案.pdf", content=pdf_base64())
    with rpc(application.organizing_unit()) as services:
        with pytest.raises(RuleViolation) as error:
            services.expert_review.submit_construction_plan(application_id=application.application_id,
                                                            file_name="建设方案.pdf",
                                                            content=base64.b64encode(b"plain text").decode())
        assert error.value.rule == "file_type"
        review = services.expert_review.submit_construction_plan(application_id=application.application_id,
                                                                 file_name="建设方案.pdf", content=pdf_base64())
        stored = services.expert_review.get_construction_plan(application_id=application.application_id)
    assert review["construction_plan"]["on_time"] is True
    assert base64.b64decode(stored["content"]) == PDF
    with rpc(officer()) as services:
        assert services.expert_review.get_construction_plan(
            application_id=application.application_id)["sha256"] == stored["sha256"]
    assert topics("expert_review", application.application_id)[-2:] == ["ConstructionPlanSubmitted", "DeadlineMet"]


def test_a_missed_construction_plan_date_is_recorded_and_a_late_plan_says_so(cluster, pool):
    application = in_review()
    concluded([application], pool[:5])
    approve(application)
    try:
        set_time(after_days(93))
        eventually(lambda: count_of("expert_review", "DeadlineMissed", application.application_id) == 1)
        wait_for_review(application.application_id)
        with rpc(application.organizing_unit()) as services:
            review = services.expert_review.submit_construction_plan(
                application_id=application.application_id, file_name="建设方案.pdf", content=pdf_base64())
        assert review["construction_plan"]["on_time"] is False and review["construction_plan_overdue"] is True
        names = topics("expert_review", application.application_id)
        assert names.count("DeadlineReminded") == 0  # the clock jumped past both reminders
    finally:
        set_time(TEST_START)


def test_a_withdrawn_application_leaves_expert_review(cluster, pool):
    application = in_review()
    application.withdrawn()
    wait_for_review(application.application_id, "closed")
    with pytest.raises(WrongStage):
        form_panel([application], pool[:5])


def test_a_withdrawn_recommendation_ends_expert_review_too(cluster, pool):
    application = in_review()
    form_panel([application], pool[:5])
    application.recommendation_withdrawn()
    review = wait_for_review(application.application_id, "closed")
    assert "recommending unit withdrew" in review["closed_reason"]


def test_without_a_token_nothing_is_answered(cluster):
    with rpc() as services:
        with pytest.raises(AuthenticationFailed):
            services.expert_review.my_assignments()


# --- bad input --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def closed_application(cluster):
    application = in_review()
    application.withdrawn()
    wait_for_review(application.application_id, "closed")
    return application.application_id


METHODS = ["register_expert", "declare_conflict", "experts", "request_avoidance", "check_panel", "form_panel",
           "add_panel_member", "get_panel", "my_assignments", "decline_assignment", "submit_opinion", "opinions",
           "schedule_site_visit", "record_site_visit", "conclude", "request_revision", "confirm_revision",
           "extend_deadline", "approve", "decline", "approved_bases", "submit_construction_plan",
           "get_construction_plan", "reviews", "get_review"]
FIELDS = ["application_id", "expert_id", "name", "organization", "organization_name", "region", "fields", "email",
          "phone", "conflicts", "reason", "expert_name", "application_ids", "members", "chair", "meeting_date",
          "place", "request_id", "panel_id", "as_chair", "reason_kind", "necessity", "feasibility",
          "goals_and_tasks", "safeguards", "recommendation", "summary", "visit_date", "findings", "conclusion",
          "text", "revision", "sections", "deadline", "note", "kind", "new_deadline", "reasons",
          "second_base_reason", "file_name", "content", "state", "base_type", "limit", "offset", "zzz"]
VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(), st.text(max_size=40), st.lists(st.text(max_size=12), max_size=3),
    st.dictionaries(st.sampled_from(["score", "text", "sections", "reason", "deadline"]),
                    st.one_of(st.integers(), st.text(max_size=8)), max_size=3),
    st.sampled_from(["pass", "pass_with_revisions", "fail", "revision", "construction_plan", "unavailable",
                     "2026-12-20T10:00:00+08:00", "2026-12-20", "EQ.07", "110000", "x@example.cn",
                     "91320000MA1XXXXX9L", str(uuid.uuid4()), pdf_base64()]),
)


@hsettings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
@given(method=st.sampled_from(METHODS), payload=st.dictionaries(st.sampled_from(FIELDS), VALUES, max_size=7),
       aim=st.booleans(), role=st.sampled_from(["officer", "expert", "applicant", "organizing_unit"]))
def test_random_payloads_get_typed_errors_and_change_nothing(cluster, closed_application, method, payload, aim,
                                                             role):
    if aim:  # at a real (closed) application, so the rules are reached, not only the schema
        payload["application_id"] = closed_application
    before = log_position("expert_review")
    with rpc(token(role, org="SAC")) as services:
        try:
            getattr(services.expert_review, method)(**payload)
        except InnobaseError:
            pass  # typed: the only acceptable failure
        else:
            if log_position("expert_review") != before:
                assert method == "register_expert", f"{method}({payload!r}) changed the log"
                return
    assert log_position("expert_review") == before, f"{method}({payload!r}) changed the log"
