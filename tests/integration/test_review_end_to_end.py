"""From a recommendation to the construction plan across the real formal_review and
expert_review processes: a supplement round whose deadline is missed and extended, a
revision round, approval and the construction plan. Intake and endorsement are played by
publishing their events; formal review's events reach expert review through the broker."""
from datetime import timedelta

import pytest

from shared import clock
from tests.integration.test_review_support import (
    TEST_START,
    Application,
    after_days,
    expert_token,
    officer,
    opinion,
    pdf_base64,
    register,
    topics,
    wait_for_case,
    wait_for_review,
)
from tests.support.clock import set_time
from tests.support.cluster import eventually, rpc, running, sql

pytestmark = [pytest.mark.integration, pytest.mark.e2e]


@pytest.fixture(scope="module")
def cluster():
    set_time(TEST_START)
    with running("formal_review", "expert_review", INNOBASE_DEADLINE_SCAN_SECONDS="0.5") as cluster:
        yield cluster
    set_time(TEST_START)


def later(days: float) -> str:
    return (clock.now() + timedelta(days=days)).isoformat()


def published_positions(application_id: str) -> list[int]:
    """Positions of the formal review events of one application that cross to other services."""
    rows = sql("formal_review", "SELECT id, topic FROM formalreview_events WHERE convert_from(state, 'UTF8') LIKE %s"
                                " ORDER BY id", f"%{application_id}%")
    crossing = ("Opened", "Accepted", "SupplementRequested", "SupplementReceived", "Passed", "ApplicantInformed",
                "DeadlineReminded", "DeadlineMissed", "DeadlineExtended")
    return [position for position, topic in rows if topic.rsplit(".", 1)[-1] in crossing]


def test_an_application_goes_from_recommendation_to_construction_plan(cluster):
    application = Application("regional", region="320000")
    application.units_registered()
    application.submitted()
    application.recommended()
    try:
        # 形式审查: accepted and numbered, a supplement is asked for, its deadline is missed and extended
        wait_for_case(application.application_id, "received")
        with rpc(officer()) as services:
            case = services.formal_review.accept(application_id=application.application_id)
            number = case["number"]
            case = services.formal_review.request_supplement(
                application_id=application.application_id, items=["qualification:4"],
                reason="请补充主导制定技术标准的证明材料", deadline=after_days(10).isoformat())
        request_id = case["supplement_requests"][0]["request_id"]
        assert number.startswith("CXJD-2026-QY-")

        set_time(after_days(11))
        wait_for_case(application.application_id, "supplement_overdue")
        with rpc(officer()) as services:
            services.formal_review.extend_deadline(application_id=application.application_id,
                                                   request_id=request_id, new_deadline=later(7),
                                                   reason="申报单位因机构调整申请延期")
        application.submitted(kind="supplement", answers=request_id, sections=["qualifications", "attachments"])
        case = wait_for_case(application.application_id, "under_review")
        assert case["plan_version"] == 2 and case["supplement_requests"][0]["on_time"] is True
        with rpc(officer()) as services:
            services.formal_review.pass_review(application_id=application.application_id)
            services.formal_review.record_applicant_informed(application_id=application.application_id,
                                                            decision="passed", channel="portal")

        # 专家论证: formal review's pass opens the expert review; a conflict-free panel of five
        review = wait_for_review(application.application_id, "awaiting_panel")
        assert review["number"] == number and review["plan_version"] == 2
        experts = [register() for _ in range(5)]
        colleague = register(organization=application.applicant_organization)
        with rpc(application.applicant()) as services:
            services.expert_review.request_avoidance(application_id=application.application_id,
                                                     organization=application.organizing_credit_code,
                                                     reason="避免与组织单位有关的专家")
        with rpc(officer()) as services:
            panel = services.expert_review.form_panel(
                application_ids=[application.application_id], members=experts + [colleague], chair=experts[0],
                meeting_date=later(20), place="国家标准委会议室")
            services.expert_review.schedule_site_visit(application_id=application.application_id,
                                                       visit_date=later(15), place="南京市")
        assert panel["applications"][0]["eligible"] == experts
        assert panel["applications"][0]["excluded"][0]["expert_id"] == colleague
        with rpc(expert_token(experts[4])) as services:
            services.expert_review.decline_assignment(application_id=application.application_id,
                                                      reason_kind="unavailable", reason="会议期间出国")
        replacement = register()
        with rpc(officer()) as services:
            services.expert_review.add_panel_member(panel_id=panel["panel_id"], expert_id=replacement)
        for judge in experts[:4] + [replacement]:
            opinion(application, judge, recommendation="pass_with_revisions")
        with rpc(expert_token(experts[0])) as services:
            services.expert_review.record_site_visit(application_id=application.application_id,
                                                     findings="标准化研究平台与申报方案一致")
            review = services.expert_review.conclude(
                application_id=application.application_id, conclusion="pass_with_revisions",
                text="建设必要，方案基本可行；考核指标需进一步量化",
                revision={"sections": ["goals"], "reason": "考核指标需量化、可考核", "deadline": later(30)})
        revision_id = review["revisions"][0]["request_id"]

        application.submitted(kind="revision", answers=revision_id, sections=["goals"])
        wait_for_review(application.application_id, "revision_received")
        with rpc(expert_token(experts[0])) as services:
            services.expert_review.confirm_revision(application_id=application.application_id, note="已量化")

        # 批准筹建 and the construction plan (建设方案) within three months
        with rpc(officer()) as services:
            review = services.expert_review.approve(application_id=application.application_id,
                                                    reasons="符合国家技术标准创新基地建设要求")
        assert review["state"] == "approved"
        with rpc(application.organizing_unit()) as services:
            review = services.expert_review.submit_construction_plan(
                application_id=application.application_id, file_name="建设方案.pdf", content=pdf_base64())
        assert review["construction_plan"]["on_time"] is True
    finally:
        set_time(TEST_START)

    formal = topics("formal_review", application.application_id)
    assert [n for n in formal if n not in ("Received", "DeadlineSet", "DeadlineMet", "DeadlineReminded")] == [
        "Opened", "NumberIssued", "Accepted", "SupplementRequested", "DeadlineMissed", "SupplementOverdue",
        "SupplementDeadlineExtended", "DeadlineExtended", "SupplementReceived", "Passed", "ApplicantInformed"]
    expert = topics("expert_review", application.application_id)
    for fact in ("Opened", "PanelAssigned", "ExpertExcluded", "SiteVisitScheduled", "ExpertDeclined",
                 "SiteVisitRecorded", "Concluded", "RevisionRequested", "RevisionReceived", "RevisionConfirmed",
                 "Approved", "ConstructionPlanSubmitted"):
        assert expert.count(fact) == 1, (fact, expert)
    # every fact formal review published for the application reached expert review, once
    eventually(lambda: [r[0] for r in sql(
        "expert_review", "SELECT position FROM processed_messages WHERE source = 'formal_review'"
                         " AND application_id = %s ORDER BY position", application.application_id)]
        == published_positions(application.application_id))
