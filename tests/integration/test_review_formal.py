"""Formal review (形式审查) through the real service: a recommendation opens a case, the
officer numbers it, checks it, asks for supplementary material by a deadline, and passes
or rejects it. Intake and endorsement are played by publishing their events."""
import concurrent.futures
import re
import time
import uuid

import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from shared.errors import AuthenticationFailed, InnobaseError, NotAuthorized, NotYourApplication
from services.review.errors import (
    AlreadyAccepted,
    AlreadyInformed,
    ChecklistIncomplete,
    DeadlineInPast,
    UnknownChecklistItem,
    WrongStage,
)
from tests.integration.test_review_support import (
    TEST_START,
    Application,
    after_days,
    count_of,
    log_position,
    officer,
    topics,
    wait_for_case,
)
from tests.support.clock import set_time
from tests.support.cluster import eventually, rpc, running, sql, token

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def cluster():
    set_time(TEST_START)
    with running("formal_review", INNOBASE_DEADLINE_SCAN_SECONDS="0.5") as cluster:
        yield cluster
    set_time(TEST_START)


def recommended_case(base_type="regional", **submission) -> Application:
    application = Application(base_type)
    application.submitted(**submission)
    application.recommended()
    wait_for_case(application.application_id)
    return application


def accepted_case(base_type="regional", **submission) -> tuple[Application, dict]:
    application = recommended_case(base_type, **submission)
    with rpc(officer()) as services:
        case = services.formal_review.accept(application_id=application.application_id)
    return application, case


def serial(number: str) -> int:
    return int(number.rsplit("-", 1)[1])


def test_a_recommendation_opens_a_case_with_the_checklist_of_its_base_type(cluster):
    application = recommended_case("domain")
    case = wait_for_case(application.application_id, "received")
    assert case["number"] is None and case["plan_version"] == 1
    items = {i["item"]: i["status"] for i in case["checklist"]}
    assert len([k for k in items if k.startswith("qualification:")]) == 5
    assert set(items.values()) == {"present"}
    assert case["stamped_plan_scan"]["name"] == "stamped-plan.pdf"
    assert "Opened" in topics("formal_review", application.application_id)


def test_accepting_gives_the_next_official_number_of_the_year_and_base_type(cluster):
    _, first = accepted_case("regional")
    _, second = accepted_case("regional")
    _, other = accepted_case("international")
    assert re.fullmatch(r"CXJD-2026-QY-\d{3}", first["number"])
    assert serial(second["number"]) == serial(first["number"]) + 1
    assert re.fullmatch(r"CXJD-2026-GJ-\d{3}", other["number"])
    assert first["state"] == "under_review"


def test_officers_accepting_at_the_same_instant_never_share_a_number_and_skip_none(cluster):
    applications = [recommended_case("domain") for _ in range(8)]

    def accept(application):
        with rpc(token("officer", org="SAC")) as services:
            return services.formal_review.accept(application_id=application.application_id)["number"]

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        numbers = list(pool.map(accept, applications))
    assert len(set(numbers)) == 8
    every_domain_number = [r[0] for r in sql("formal_review", "SELECT number FROM formal_cases"
                                                               " WHERE number LIKE %s", "CXJD-2026-LY-%")]
    assert sorted(serial(n) for n in every_domain_number) == list(range(1, len(every_domain_number) + 1))


def test_two_officers_accepting_one_case_together_give_it_one_number(cluster):
    application = recommended_case()

    def accept(_):
        with rpc(officer()) as services:
            try:
                return services.formal_review.accept(application_id=application.application_id)["number"]
            except AlreadyAccepted as error:
                return error.code

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        outcomes = list(pool.map(accept, range(4)))
    assert outcomes.count("already_accepted") == 3, outcomes
    assert count_of("formal_review", "Accepted", application.application_id) == 1


def test_an_incomplete_application_cannot_pass_and_the_checklist_names_what_is_missing(cluster):
    application, _ = accepted_case(sections=["basic", "significance", "feasibility", "qualifications",
                                             "safeguards", "applicant_opinion"], evidence=False)
    before = log_position("formal_review")
    with rpc(officer()) as services:
        with pytest.raises(ChecklistIncomplete) as error:
            services.formal_review.pass_review(application_id=application.application_id)
    missing = {i["item"] for i in error.value.details["items"]}
    assert missing == {"section:goals", *(f"qualification:{n}" for n in range(1, 7))}
    assert log_position("formal_review") == before


def test_a_supplement_reopens_the_named_items_and_the_applicants_supplement_resumes_the_case(cluster):
    application, _ = accepted_case(sections=["basic", "significance", "feasibility", "qualifications",
                                             "safeguards", "applicant_opinion", "attachments"])
    with rpc(officer()) as services:
        services.formal_review.record_finding(application_id=application.application_id,
                                              item="recommendation_letter", finding="deficient",
                                              note="the letter scan is unreadable")
        with pytest.raises(UnknownChecklistItem):
            services.formal_review.request_supplement(
                application_id=application.application_id, items=["qualification:7"], reason="x",
                deadline=after_days(10).isoformat())
        case = services.formal_review.request_supplement(
            application_id=application.application_id, items=["section:goals", "recommendation_letter"],
            reason="四、目标和任务 is empty; the letter scan is unreadable", deadline=after_days(10).isoformat())
    request = case["supplement_requests"][-1]
    assert case["state"] == "awaiting_supplement"
    assert request["sections"] == ["attachments", "goals"]
    assert [(d["kind"], d["state"]) for d in case["deadlines"]] == [("supplement", "open")]

    application.submitted(kind="supplement", answers=request["request_id"], sections=["goals", "attachments"])
    case = wait_for_case(application.application_id, "under_review")
    assert case["plan_version"] == 2
    assert case["supplement_requests"][-1]["state"] == "answered"
    assert case["supplement_requests"][-1]["on_time"] is True
    assert {i["status"] for i in case["checklist"]} == {"present"}
    with rpc(officer()) as services:
        case = services.formal_review.pass_review(application_id=application.application_id)
    assert case["state"] == "passed"
    assert topics("formal_review", application.application_id)[-1] == "Passed"
    assert [d["state"] for d in case["deadlines"]] == ["met"]


def test_a_deadline_in_the_past_is_refused(cluster):
    application, _ = accepted_case()
    with rpc(officer()) as services:
        with pytest.raises(DeadlineInPast):
            services.formal_review.request_supplement(application_id=application.application_id,
                                                      items=["section:goals"], reason="x",
                                                      deadline=after_days(-1).isoformat())


def test_reminders_come_before_the_deadline_and_a_miss_is_recorded_once_then_the_officer_extends(cluster):
    application, _ = accepted_case()
    with rpc(officer()) as services:
        case = services.formal_review.request_supplement(
            application_id=application.application_id, items=["qualification:3"], reason="evidence of item 3",
            deadline=after_days(10).isoformat())
    request_id = case["supplement_requests"][-1]["request_id"]
    try:
        set_time(after_days(3.5))  # 6.5 days left: the 7-day reminder
        eventually(lambda: count_of("formal_review", "DeadlineReminded", application.application_id) == 1)
        set_time(after_days(11))
        wait_for_case(application.application_id, "supplement_overdue")
        time.sleep(2)  # several scans later: still one miss, and the 1-day reminder was never sent
        names = topics("formal_review", application.application_id)
        assert names.count("DeadlineMissed") == 1 and names.count("DeadlineReminded") == 1
        assert names.count("SupplementOverdue") == 1

        with rpc(officer()) as services:
            case = services.formal_review.extend_deadline(
                application_id=application.application_id, request_id=request_id,
                new_deadline=after_days(20).isoformat(), reason="the certificate authority was closed")
        assert case["state"] == "awaiting_supplement"
        assert case["supplement_requests"][-1]["extensions"][0]["reason"] == "the certificate authority was closed"
        assert topics("formal_review", application.application_id).count("DeadlineExtended") == 1

        set_time(after_days(21))
        wait_for_case(application.application_id, "supplement_overdue")
        with rpc(officer()) as services:
            case = services.formal_review.reject(application_id=application.application_id,
                                                 reasons=["the supplement did not arrive by the extended deadline"])
        assert case["state"] == "found_inadmissible"
        assert count_of("formal_review", "DeadlineMissed", application.application_id) == 2
    finally:
        set_time(TEST_START)


def test_found_inadmissible_and_applicant_informed_are_separate_facts(cluster):
    application, case = accepted_case()
    with rpc(officer()) as services:
        case = services.formal_review.reject(application_id=application.application_id,
                                             reasons=["the applicant is not an independent legal person"])
    assert case["informed"] == {}
    with rpc(application.applicant()) as services:
        seen = services.formal_review.get_case(application_id=application.application_id)
    assert seen["state"] == "found_inadmissible" and seen["reasons"] == case["reasons"]
    assert "checklist" not in seen
    with rpc(officer()) as services:
        case = services.formal_review.record_applicant_informed(
            application_id=application.application_id, decision="found_inadmissible", channel="letter",
            note="挂号信")
        with pytest.raises(AlreadyInformed):
            services.formal_review.record_applicant_informed(
                application_id=application.application_id, decision="found_inadmissible", channel="email")
        with pytest.raises(WrongStage):
            services.formal_review.record_applicant_informed(
                application_id=application.application_id, decision="passed", channel="email")
    assert case["informed"]["found_inadmissible"]["channel"] == "letter"
    assert topics("formal_review", application.application_id)[-2:] == ["FoundInadmissible", "ApplicantInformed"]


def test_a_withdrawn_recommendation_closes_the_case_and_cancels_its_deadline(cluster):
    application, _ = accepted_case()
    with rpc(officer()) as services:
        services.formal_review.request_supplement(application_id=application.application_id,
                                                  items=["section:goals"], reason="x",
                                                  deadline=after_days(10).isoformat())
    application.recommendation_withdrawn()
    case = wait_for_case(application.application_id, "closed")
    assert "withdrew its recommendation" in case["closed_reason"]
    assert [d["state"] for d in case["deadlines"]] == ["cancelled"]


def test_a_withdrawn_application_closes_the_case(cluster):
    application = recommended_case()
    application.withdrawn()
    assert "withdrew the application" in wait_for_case(application.application_id, "closed")["closed_reason"]


def test_the_parties_see_only_their_own_application_and_only_the_officer_decides(cluster):
    application = recommended_case()
    with rpc(token("applicant", org="somebody-else")) as services:
        with pytest.raises(NotYourApplication):
            services.formal_review.get_case(application_id=application.application_id)
    with rpc(application.organizing_unit()) as services:
        assert services.formal_review.get_case(application_id=application.application_id)["state"] == "received"
    with rpc(token("expert")) as services:
        with pytest.raises(NotAuthorized):
            services.formal_review.get_case(application_id=application.application_id)
    with rpc(application.applicant()) as services:
        with pytest.raises(NotAuthorized):
            services.formal_review.accept(application_id=application.application_id)
        with pytest.raises(NotAuthorized):
            services.formal_review.cases()
    with rpc() as services:
        with pytest.raises(AuthenticationFailed):
            services.formal_review.cases()
    with rpc(officer()) as services:
        listed = services.formal_review.cases(state="received", limit=1000)
    assert application.application_id in [i["application_id"] for i in listed["items"]]
    assert listed["counts"]["received"] >= 1


@pytest.fixture(scope="module")
def closed_application(cluster):
    application = recommended_case()
    application.withdrawn()
    wait_for_case(application.application_id, "closed")
    return application.application_id


VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(), st.text(max_size=40), st.lists(st.text(max_size=12), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
    st.sampled_from(["section:goals", "recommendation_letter", "ok", "deficient", "found_inadmissible", "passed",
                     "letter", "regional", "received", "goals", "2026-06-20T10:00:00+08:00", "2026-06-20T10:00:00",
                     str(uuid.uuid4())]),
)
FIELDS = ["application_id", "item", "finding", "note", "items", "sections", "reason", "deadline", "request_id",
          "new_deadline", "reasons", "decision", "channel", "informed_at", "state", "base_type", "year", "limit",
          "offset", "zzz"]
METHODS = ["cases", "get_case", "accept", "record_finding", "request_supplement", "extend_deadline", "pass_review",
           "reject", "record_applicant_informed"]


@hsettings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(method=st.sampled_from(METHODS), payload=st.dictionaries(st.sampled_from(FIELDS), VALUES, max_size=6),
       aim=st.booleans(), role=st.sampled_from(["officer", "applicant", "expert"]))
def test_random_payloads_get_typed_errors_and_change_nothing(cluster, closed_application, method, payload, aim, role):
    if aim:  # at a real (closed) case, so the rules are reached, not only the schema
        payload["application_id"] = closed_application
    before = log_position("formal_review")
    with rpc(token(role, org="SAC")) as services:
        try:
            getattr(services.formal_review, method)(**payload)
        except InnobaseError:
            pass  # typed: the only acceptable failure
    assert log_position("formal_review") == before, f"{method}({payload!r}) changed the log"
