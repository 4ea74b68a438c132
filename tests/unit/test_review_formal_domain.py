"""Formal review's rules (形式审查) without a database: numbers, the checklist, supplements, decisions."""
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from services.review.formal_review.application import FormalReview
from services.review.formal_review.domain import (
    AWAITING_SUPPLEMENT,
    CLOSED,
    DEFICIENT,
    FOUND_INADMISSIBLE,
    MISSING,
    NOT_DECLARED,
    PASSED,
    PRESENT,
    SUPPLEMENT_OVERDUE,
    UNDER_REVIEW,
    Case,
    NumberSequence,
    checklist_of,
    evaluate_checklist,
    item_number,
    official_number,
)
from shared import contracts
from shared.contracts import SECTIONS
from services.review.errors import (
    AlreadyAccepted,
    AlreadyInformed,
    ChecklistIncomplete,
    RequestNotFound,
    UnknownChecklistItem,
    WrongStage,
)

pytestmark = pytest.mark.unit
OFFICER = {"party_id": "officer-1", "role": "officer", "organization": "SAC"}
CAUSE = {"source": "endorsement", "position": 7}
SCAN = {"sha256": "a" * 64, "name": "scan.pdf", "size": 10, "media_type": "application/pdf"}
EVIDENCE = [{"sha256": "b" * 64, "name": "evidence.pdf", "size": 10, "media_type": "application/pdf"}]
DEADLINE = datetime(2026, 7, 1, 2, 0, tzinfo=timezone.utc)


def recommended(base_type="regional", **overrides):
    fields = dict(application_id=str(uuid.uuid4()), plan_version=1, digest="d" * 64,
                  name="国家技术标准创新基地（江苏）", base_type=base_type, region="320000", domain=None,
                  applicant_organization="12320000466000000A", applicant_name="江苏省标准化研究院",
                  organizing_unit_id="OU-JS", recommending_unit_id="RU-JS", year=2026,
                  stamped_plan_scan=SCAN, recommendation_letter=SCAN, recommended_at="2026-06-01T10:00:00+08:00")
    fields.update(overrides)
    return Case.open(caused_by=CAUSE, **fields)


def accepted(**overrides):
    case = recommended(**overrides)
    case.accept("CXJD-2026-QY-001", OFFICER)
    return case


def complete_version(base_type="regional", **overrides):
    count = {"regional": 6, "domain": 5, "international": 5}[base_type]
    version = {"changed_sections": list(SECTIONS),
               "qualification_items": [{"item": n, "declared": True, "evidence": EVIDENCE} for n in range(1, count + 1)],
               "attachments": EVIDENCE}
    version.update(overrides)
    return version


def statuses(checklist):
    return {i["item"]: i["status"] for i in checklist}


# --- the official number ---------------------------------------------------------------

def test_the_official_number_reads_cxjd_year_type_and_serial():
    assert official_number(2026, "regional", 1) == "CXJD-2026-QY-001"
    assert official_number(2026, "domain", 12) == "CXJD-2026-LY-012"
    assert official_number(2027, "international", 1000) == "CXJD-2027-GJ-1000"


def test_numbers_are_sequential_per_year_and_base_type_and_never_reused():
    sequence = NumberSequence.start(2026, "domain")
    first = sequence.issue(uuid.uuid4(), OFFICER)
    second = sequence.issue(uuid.uuid4(), OFFICER)
    assert (first, second) == ("CXJD-2026-LY-001", "CXJD-2026-LY-002")
    assert NumberSequence.start(2026, "domain").id == sequence.id
    assert NumberSequence.start(2026, "regional").id != sequence.id


def test_a_case_is_accepted_once():
    case = accepted()
    assert case.state == UNDER_REVIEW and case.number == "CXJD-2026-QY-001"
    with pytest.raises(AlreadyAccepted) as error:
        case.accept("CXJD-2026-QY-002", OFFICER)
    assert error.value.details["number"] == "CXJD-2026-QY-001"


# --- the checklist ------------------------------------------------------------------------

@pytest.mark.parametrize("base_type, qualifications", [("regional", 6), ("domain", 5), ("international", 5)])
def test_the_checklist_of_each_base_type_has_its_sections_qualifications_and_the_two_scans(base_type, qualifications):
    keys = [i.key for i in checklist_of(base_type)]
    assert [k for k in keys if k.startswith("qualification:")] == [
        f"qualification:{n}" for n in range(1, qualifications + 1)]
    assert {"section:basic", "section:significance", "section:feasibility", "section:goals",
            "section:safeguards", "section:applicant_opinion", "stamped_plan_scan",
            "recommendation_letter"} <= set(keys)


def test_a_complete_plan_with_both_scans_passes_the_checklist():
    checklist = evaluate_checklist("regional", [complete_version()], {"stamped_plan_scan": SCAN,
                                                                      "recommendation_letter": SCAN}, {})
    assert set(statuses(checklist).values()) == {PRESENT}


def test_a_qualification_declared_without_evidence_is_missing_and_the_other_conditions_item_is_optional():
    items = [{"item": n, "declared": True, "evidence": EVIDENCE} for n in range(1, 5)]
    items.append({"item": 5, "declared": True, "evidence": []})
    items.append({"item": 6, "declared": False, "evidence": []})
    checklist = evaluate_checklist("regional", [complete_version(qualification_items=items)],
                                   {"stamped_plan_scan": SCAN, "recommendation_letter": SCAN}, {})
    assert statuses(checklist)["qualification:5"] == MISSING
    assert statuses(checklist)["qualification:6"] == NOT_DECLARED
    assert [i["detail"] for i in checklist if i["item"] == "qualification:5"] == ["declared without evidence"]


def test_a_section_counts_once_any_version_changed_it():
    first = complete_version(changed_sections=["basic", "significance", "feasibility", "qualifications"])
    second = {"changed_sections": ["goals", "safeguards", "applicant_opinion"], "qualification_items": [],
              "attachments": []}
    checklist = evaluate_checklist("regional", [first], {"stamped_plan_scan": SCAN, "recommendation_letter": SCAN}, {})
    assert statuses(checklist)["section:goals"] == MISSING
    checklist = evaluate_checklist("regional", [first, second],
                                   {"stamped_plan_scan": SCAN, "recommendation_letter": SCAN}, {})
    assert set(statuses(checklist).values()) == {PRESENT}  # qualification items carried from version 1


def test_an_officers_finding_of_deficient_overrides_the_data_and_ok_cannot_make_up_for_missing_data():
    findings = {"recommendation_letter": {"finding": "deficient", "note": "unreadable scan"},
                "section:goals": {"finding": "ok", "note": ""}}
    checklist = evaluate_checklist("regional", [complete_version(changed_sections=["basic"])],
                                   {"stamped_plan_scan": SCAN, "recommendation_letter": SCAN}, findings)
    assert statuses(checklist)["recommendation_letter"] == DEFICIENT
    assert statuses(checklist)["section:goals"] == MISSING


@pytest.mark.parametrize("item, number", [(3, 3), ("3", 3), ("regional-3", 3), ("q12", 12), ("other", None),
                                          (True, None)])
def test_qualification_items_are_known_by_the_guides_number(item, number):
    assert item_number(item) == number


def test_passing_with_an_incomplete_checklist_names_the_missing_items():
    case = accepted()
    checklist = evaluate_checklist("regional", [complete_version(changed_sections=["basic"])],
                                   {"stamped_plan_scan": SCAN, "recommendation_letter": SCAN}, {})
    with pytest.raises(ChecklistIncomplete) as error:
        case.pass_review(checklist, "", OFFICER)
    assert {i["item"] for i in error.value.details["items"]} == {
        "section:significance", "section:feasibility", "section:goals", "section:safeguards",
        "section:applicant_opinion"}
    assert case.state == UNDER_REVIEW


def test_a_case_must_be_accepted_before_it_passes():
    case = recommended()
    with pytest.raises(WrongStage):
        case.pass_review([], "", OFFICER)


# --- supplements ----------------------------------------------------------------------------

def test_a_supplement_request_reopens_the_sections_of_its_items():
    case = accepted()
    request_id = case.next_request_id()
    case.request_supplement(request_id, ["qualification:2", "recommendation_letter"], ["goals"],
                            "evidence for item 2 is missing", DEADLINE, OFFICER)
    assert case.state == AWAITING_SUPPLEMENT
    assert case.open_request["sections"] == ["attachments", "goals", "qualifications"]


def test_a_supplement_request_names_only_items_of_the_checklist():
    case = accepted()
    with pytest.raises(UnknownChecklistItem) as error:
        case.request_supplement(case.next_request_id(), ["qualification:9"], [], "x", DEADLINE, OFFICER)
    assert error.value.details["items"] == ["qualification:9"]


def test_the_applicants_supplement_resumes_the_case_and_its_items_are_checked_afresh():
    case = accepted()
    case.record_finding("qualification:2", "deficient", "the certificate expired", OFFICER)
    request_id = case.next_request_id()
    case.request_supplement(request_id, ["qualification:2"], [], "renew the certificate", DEADLINE, OFFICER)
    assert not case.receive_supplement("another-request", 2, "e" * 64, case.name, True, CAUSE)
    assert case.receive_supplement(request_id, 2, "e" * 64, case.name, True, CAUSE)
    assert case.state == UNDER_REVIEW and case.plan_version == 2
    assert "qualification:2" not in case.findings
    assert case.requests[-1]["state"] == "answered"


def test_a_missed_supplement_deadline_waits_for_the_officer_to_extend_or_reject():
    case = accepted()
    request_id = case.next_request_id()
    case.request_supplement(request_id, ["section:goals"], [], "x", DEADLINE, OFFICER)
    assert case.supplement_overdue(request_id, DEADLINE)
    assert not case.supplement_overdue(request_id, DEADLINE)  # recorded once
    assert case.state == SUPPLEMENT_OVERDUE
    with pytest.raises(RequestNotFound):
        case.extend_supplement("no-such-request", DEADLINE + timedelta(days=7), "more time", OFFICER)
    case.extend_supplement(request_id, DEADLINE + timedelta(days=7), "the applicant asked for more time", OFFICER)
    assert case.state == AWAITING_SUPPLEMENT
    assert case.open_request["deadline"] == DEADLINE + timedelta(days=7)
    case.supplement_overdue(request_id, DEADLINE + timedelta(days=7))
    case.reject(["the supplement never came"], OFFICER)
    assert case.state == FOUND_INADMISSIBLE and case.requests[-1]["state"] == "closed"


# --- decisions ----------------------------------------------------------------------------

def test_found_inadmissible_and_applicant_informed_are_separate_facts():
    case = accepted()
    with pytest.raises(WrongStage):
        case.record_informed(FOUND_INADMISSIBLE, DEADLINE, "letter", "", OFFICER)
    case.reject(["the plan is not stamped"], OFFICER)
    assert case.informed == {}
    case.record_informed(FOUND_INADMISSIBLE, DEADLINE, "letter", "sent by post", OFFICER)
    with pytest.raises(AlreadyInformed):
        case.record_informed(FOUND_INADMISSIBLE, DEADLINE, "email", "", OFFICER)
    names = [type(e).__name__ for e in case.collect_events()]
    assert names[-2:] == ["FoundInadmissible", "ApplicantInformed"]


def test_an_application_can_be_found_inadmissible_before_it_is_numbered():
    case = recommended()
    case.reject(["not an independent legal person"], OFFICER)
    assert case.number is None and case.state == FOUND_INADMISSIBLE


def test_a_withdrawn_recommendation_closes_the_case_and_a_new_one_reopens_it_with_its_number():
    case = accepted()
    assert case.close("the recommending unit withdrew", CAUSE)
    assert case.state == CLOSED
    assert not case.close("again", CAUSE)
    with pytest.raises(WrongStage):
        case.reject(["too late"], OFFICER)
    assert case.reopen(CAUSE, application_id=case.application_id, plan_version=1, digest="d" * 64,
                       name=case.name, base_type="regional", region="320000", domain=None,
                       applicant_organization=case.applicant_organization, applicant_name="x",
                       organizing_unit_id="OU-JS", recommending_unit_id="RU-JS", year=2026,
                       stamped_plan_scan=SCAN, recommendation_letter=SCAN, recommended_at="2026-06-02T10:00:00+08:00")
    assert case.state == UNDER_REVIEW and case.number == "CXJD-2026-QY-001"


def test_every_published_fact_matches_its_contract():
    app = FormalReview.__new__(FormalReview)  # only the mapping, no database
    case = accepted()
    request_id = case.next_request_id()
    case.request_supplement(request_id, ["section:goals"], [], "more detail on the goals", DEADLINE, OFFICER)
    case.receive_supplement(request_id, 2, "e" * 64, case.name, True, CAUSE)
    case.pass_review(evaluate_checklist("regional", [complete_version()],
                                        {"stamped_plan_scan": SCAN, "recommendation_letter": SCAN}, {}), "", OFFICER)
    case.record_informed(PASSED, DEADLINE, "portal", "", OFFICER)
    other = recommended()
    other.reject(["incomplete"], OFFICER)
    published = []
    for position, domain_event in enumerate(case.collect_events() + other.collect_events(), start=1):
        described = app.integration_event(domain_event)
        if described is not None:
            event_type, version, payload = described
            contracts.build("formal_review", event_type, version, payload, event_id=str(uuid.uuid4()),
                            position=position, application_id=None, occurred_at=domain_event.timestamp.isoformat(),
                            actor=None, previous_position=None, caused_by=None)
            published.append(event_type)
    assert published == ["FormalReviewOpened", "ApplicationAccepted", "SupplementRequested", "SupplementReceived",
                         "FormalReviewPassed", "ApplicantInformed", "FormalReviewOpened",
                         "ApplicationFoundInadmissible"]
