"""What later stages tell intake, played here as their outboxes would publish it: a return by
the organizing unit, a supplement request of formal review and a revision request of expert
review reopen only the sections they name; the answer is a new version, every version stays
retrievable and two versions compare by section; the stage and the next deadline follow the
application through endorsement, formal review, expert review and approval."""
import base64
import re
import subprocess
import uuid
from datetime import datetime, timedelta

import pytest

from services.intake.application import Intake
from shared.auth import Caller
from shared.clock import BEIJING
from services.intake.errors import ApplicationClosed, SectionClosed, VersionNotFound
from tests.conftest import TEST_START
from tests.support import clock as test_clock
from tests.support.applications import OverRpc, PublishedEvents, prepare, submit_complete
from tests.support.cluster import eventually, running, sql
from tests.support.messages import Upstream
from innobase.samples import tiny_pdf

pytestmark = pytest.mark.integration
VIA = OverRpc()
NOW = datetime.fromisoformat(TEST_START)
ATTACHMENT = {"sha256": "c" * 64, "name": "scan.pdf", "size": 100, "media_type": "application/pdf"}


@pytest.fixture(scope="module")
def cluster():
    with running("intake") as cluster:
        yield cluster


@pytest.fixture(scope="module")
def published(cluster):
    with PublishedEvents() as events:
        yield events


@pytest.fixture(scope="module")
def upstream():
    return Upstream()


@pytest.fixture
def submitted(cluster):
    setup = prepare(VIA)
    return setup, submit_complete(VIA, setup)


def application(setup, application_id, **arguments):
    with VIA.intake(setup.applicant) as intake:
        return intake.get_application(application_id=application_id, **arguments)


def listed(setup, application_id):
    with VIA.intake(setup.applicant) as intake:
        return next(a for a in intake.my_applications() if a["application_id"] == application_id)


def events_of(application_id, kind):
    return sql("intake", "SELECT count(*) FROM intake_events WHERE originator_id = %s AND topic LIKE %s",
               application_id, f"%.{kind}")[0][0]


def returned(application_id, sections, request_id="R-1", reason="重点任务不够具体，请修改后重新提交"):
    return {"application_id": application_id, "plan_version": 1, "organizing_unit_id": "OU", "sections": sections,
            "reason": reason, "request_id": request_id}


def test_a_return_reopens_only_the_sections_the_organizing_unit_names(submitted, upstream, published):
    setup, receipt = submitted
    application_id = receipt["application_id"]
    upstream.publish("endorsement", "ApplicationReturned", returned(application_id, ["goals", "safeguards"]))
    state = eventually(lambda: (a := application(setup, application_id))["stage"] == "returned" and a)
    assert state["open_sections"] == ["goals", "safeguards"]
    assert state["request"]["request_id"] == "R-1" and state["request"]["requested_by"] == "endorsement"
    event = eventually(lambda: published.of("SectionsReopened", application_id=application_id))[0]
    assert event["payload"]["sections"] == ["goals", "safeguards"] and event["payload"]["deadline"] is None
    assert event["caused_by"]["source"] == "endorsement"
    with VIA.intake(setup.applicant) as intake:
        with pytest.raises(SectionClosed):
            intake.save_section(application_id=application_id, section="significance", content={})
        intake.save_section(application_id=application_id, section="safeguards",
                            content={**state["sections"]["safeguards"], "funds_and_talent": "每年投入一千万元。"})


def test_the_answer_is_a_new_version_that_names_the_request_and_the_changed_sections(
        submitted, upstream, published):
    setup, receipt = submitted
    application_id = receipt["application_id"]
    upstream.publish("endorsement", "ApplicationReturned", returned(application_id, ["goals", "safeguards"], "R-7"))
    state = eventually(lambda: (a := application(setup, application_id))["stage"] == "returned" and a)
    goals = state["sections"]["goals"]
    goals["key_tasks"].append({"title": "国际合作", "content": "参与国际标准化组织工作，转化国际标准五项。"})
    with VIA.intake(setup.applicant) as intake:
        intake.save_section(application_id=application_id, section="goals", content=goals)
        answer = intake.submit(application_id=application_id)
        versions = intake.versions(application_id=application_id)
        diff = intake.diff(application_id=application_id, from_version=1, to_version=2)
    assert (answer["plan_version"], answer["stage"], answer["open_sections"]) == (2, "submitted", [])
    assert answer["digest"] != receipt["digest"] and answer["receipt_number"] != receipt["receipt_number"]
    assert [(v["plan_version"], v["submission_kind"], v["answers_request"], v["changed_sections"])
            for v in versions] == [(1, "initial", None, list(diff["sections"])), (2, "returned", "R-7", ["goals"])]
    assert [s for s, change in diff["sections"].items() if change["changed"]] == ["goals"]
    assert diff["sections"]["goals"]["changes"][0]["field"].startswith("goals.key_tasks.2")
    # every version stays retrievable as it was submitted
    assert len(application(setup, application_id, version=1)["sections"]["goals"]["key_tasks"]) == 2
    assert len(application(setup, application_id, version=2)["sections"]["goals"]["key_tasks"]) == 3
    event = eventually(lambda: published.of("ApplicationSubmitted", application_id=application_id, plan_version=2))[0]
    assert (event["payload"]["submission_kind"], event["payload"]["answers_request"],
            event["payload"]["changed_sections"]) == ("returned", "R-7", ["goals"])


def test_a_supplement_request_shows_its_deadline_and_is_answered_after_the_window(submitted, upstream, published):
    setup, receipt = submitted
    application_id = receipt["application_id"]
    deadline = (NOW + timedelta(days=15)).isoformat()
    upstream.publish("formal_review", "SupplementRequested", {
        "application_id": application_id, "request_id": "S-1", "items": ["补充重点实验室证书"],
        "sections": ["attachments"], "reason": "缺少证明材料", "deadline": deadline})
    row = eventually(lambda: (a := listed(setup, application_id))["stage"] == "supplement_requested" and a)
    assert (row["deadline_kind"], row["open_sections"]) == ("supplement", ["attachments"])
    assert datetime.fromisoformat(row["next_deadline"]) == datetime.fromisoformat(deadline)
    # the officer extends it: the applicant sees the new date
    later = (NOW + timedelta(days=30)).isoformat()
    upstream.publish("formal_review", "DeadlineExtended", {
        "application_id": application_id, "deadline_kind": "supplement", "request_id": "S-1",
        "new_deadline": later, "reason": "申报单位申请延期"})
    eventually(lambda: datetime.fromisoformat(listed(setup, application_id)["next_deadline"])
               == datetime.fromisoformat(later))
    try:
        test_clock.set_time("2026-09-15T09:00:00+08:00")  # long after 30 July
        with VIA.intake(setup.applicant) as intake:
            state = intake.get_application(application_id=application_id)
            extra = intake.upload_attachment(application_id=application_id, name="重点实验室证书.pdf",
                                             content=base64.b64encode(tiny_pdf("certificate")).decode())
            items = state["sections"]["attachments"]["items"] + [{"title": "重点实验室证书", "sha256": extra["sha256"]}]
            intake.save_section(application_id=application_id, section="attachments", content={"items": items})
            answer = intake.submit(application_id=application_id)
    finally:
        test_clock.set_time(TEST_START)
    assert (answer["plan_version"], answer["stage"], answer["next_deadline"]) == (2, "formal_review", None)
    event = eventually(lambda: published.of("ApplicationSubmitted", application_id=application_id, plan_version=2))[0]
    assert (event["payload"]["submission_kind"], event["payload"]["answers_request"]) == ("supplement", "S-1")
    assert extra["sha256"] in {a["sha256"] for a in event["payload"]["attachments"]}


def test_a_revision_request_of_the_panel_reopens_its_sections_with_a_deadline(submitted, upstream):
    setup, receipt = submitted
    application_id = receipt["application_id"]
    upstream.publish("expert_review", "RevisionRequested", {
        "application_id": application_id, "request_id": "V-1", "sections": ["goals", "significance"],
        "reason": "考核指标需量化", "deadline": (NOW + timedelta(days=20)).isoformat()})
    row = eventually(lambda: (a := listed(setup, application_id))["stage"] == "revision_requested" and a)
    assert (row["deadline_kind"], row["open_sections"]) == ("revision", ["significance", "goals"])
    with VIA.intake(setup.applicant) as intake:
        answer = intake.submit(application_id=application_id)
        versions = intake.versions(application_id=application_id)
    assert answer["stage"] == "expert_review"
    assert (versions[1]["submission_kind"], versions[1]["changed_sections"]) == ("revision", [])


def test_the_stage_follows_the_application_to_approval_and_the_number_is_printed(submitted, upstream, tmp_path):
    setup, receipt = submitted
    application_id = receipt["application_id"]
    common = {"application_id": application_id}
    opinion = {"text": "经审核，材料真实，同意推荐。", "head": "张华", "date": "2026-06-10"}
    steps = [
        ("endorsement", "ApplicationForwarded", {
            **common, "plan_version": 1, "digest": receipt["digest"], "organizing_unit_id": setup.organizing_unit_id,
            "recommending_unit_id": setup.recommending_unit_id, "opinion": opinion, "stamped_plan_scan": None},
         "forwarded"),
        ("endorsement", "ApplicationRecommended", {
            **common, "plan_version": 1, "digest": receipt["digest"], "name": receipt["name"], "base_type": "regional",
            "region": "320100", "domain": None, "applicant_organization": setup.credit_code,
            "applicant_name": "江苏省标准化研究院", "organizing_unit_id": setup.organizing_unit_id,
            "recommending_unit_id": setup.recommending_unit_id, "year": 2026, "quota_slot": "regional:320000",
            "opinion": opinion, "stamped_plan_scan": ATTACHMENT, "recommendation_letter": ATTACHMENT,
            "recommended_at": "2026-06-12T10:00:00+08:00"}, "recommended"),
        ("formal_review", "ApplicationAccepted", {**common, "number": "CXJD-2026-R-0042", "year": 2026,
                                                  "base_type": "regional"}, "formal_review"),
        ("formal_review", "FormalReviewPassed", {
            **common, "number": "CXJD-2026-R-0042", "plan_version": 1, "name": receipt["name"],
            "base_type": "regional", "region": "320100", "domain": None, "applicant_organization": setup.credit_code,
            "applicant_name": "江苏省标准化研究院", "organizing_unit_id": setup.organizing_unit_id,
            "recommending_unit_id": setup.recommending_unit_id}, "expert_review"),
        ("expert_review", "PanelConcluded", {**common, "panel_id": str(uuid.uuid4()), "conclusion": "pass",
                                             "text": "同意通过论证"}, "panel_concluded"),
    ]
    for source, event_type, payload, stage in steps:
        upstream.publish(source, event_type, payload)
        eventually(lambda: listed(setup, application_id)["stage"] == stage)
    assert listed(setup, application_id)["number"] == "CXJD-2026-R-0042"

    with VIA.intake(setup.applicant) as intake:
        printed = intake.plan_pdf(application_id=application_id)
    path = tmp_path / "numbered.pdf"
    path.write_bytes(base64.b64decode(printed["content"]))
    text = re.sub(r"\s+", "", subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True).stdout)
    assert printed["number"] == "CXJD-2026-R-0042" and "编号：CXJD-2026-R-0042" in text
    assert "经审核，材料真实，同意推荐。" in text  # the organizing unit's opinion in section 七

    due = (NOW + timedelta(days=92)).astimezone(BEIJING).isoformat()
    upstream.publish("expert_review", "ApplicationApproved", {
        **common, "number": "CXJD-2026-R-0042", "base_type": "regional", "region": "320100", "domain": None,
        "organizing_unit_id": setup.organizing_unit_id, "construction_plan_due": due, "reasons": "符合要求"})
    row = eventually(lambda: (a := listed(setup, application_id))["stage"] == "approved" and a)
    assert row["deadline_kind"] == "construction_plan"
    assert datetime.fromisoformat(row["next_deadline"]) == datetime.fromisoformat(due)
    with VIA.intake(setup.applicant) as intake:
        with pytest.raises(ApplicationClosed):
            intake.withdraw(application_id=application_id, reason="after approval")


def test_a_declined_recommendation_ends_the_application(submitted, upstream):
    setup, receipt = submitted
    application_id = receipt["application_id"]
    upstream.publish("endorsement", "ApplicationReturned", returned(application_id, ["goals"]))
    eventually(lambda: listed(setup, application_id)["stage"] == "returned")
    upstream.publish("endorsement", "RecommendationDeclined", {
        "application_id": application_id, "recommending_unit_id": setup.recommending_unit_id,
        "reason": "本年度名额已用完"})
    row = eventually(lambda: (a := listed(setup, application_id))["stage"] == "not_recommended" and a)
    assert row["open_sections"] == []
    with VIA.intake(setup.applicant) as intake:
        with pytest.raises(ApplicationClosed):
            intake.submit(application_id=application_id)


def test_a_redelivered_request_reopens_once(submitted, upstream):
    setup, receipt = submitted
    application_id = receipt["application_id"]
    message = upstream.publish("endorsement", "ApplicationReturned", returned(application_id, ["goals"]))
    eventually(lambda: listed(setup, application_id)["stage"] == "returned")
    upstream.deliver(message)  # the same message again
    eventually(lambda: sql("intake", "SELECT count(*) FROM processed_messages WHERE source = 'endorsement'"
                                     " AND position = %s", message["position"]) == [(1,)])
    assert events_of(application_id, "SectionsReopened") == 1


def test_an_event_about_an_application_intake_does_not_know_changes_nothing(cluster, upstream):
    before = sql("intake", "SELECT coalesce(max(id), 0) FROM intake_events")[0][0]
    message = upstream.publish("endorsement", "ApplicationReturned", returned(str(uuid.uuid4()), ["goals"]))
    eventually(lambda: sql("intake", "SELECT count(*) FROM processed_messages WHERE source = 'endorsement'"
                                     " AND position = %s", message["position"]) == [(1,)])
    assert sql("intake", "SELECT coalesce(max(id), 0) FROM intake_events")[0][0] == before


def test_a_named_unit_reads_the_versions_but_never_the_working_copy(submitted, upstream):
    setup, receipt = submitted
    application_id = receipt["application_id"]
    upstream.publish("endorsement", "ApplicationReturned", returned(application_id, ["goals"]))
    eventually(lambda: listed(setup, application_id)["stage"] == "returned")
    clerk = Caller("clerk-2", "organizing_unit", setup.organizing_unit_id)
    with VIA.intake(clerk) as intake:
        assert intake.get_application(application_id=application_id)["viewing"] == 1
        assert len(intake.versions(application_id=application_id)) == 1
        with pytest.raises(VersionNotFound):
            intake.diff(application_id=application_id, from_version=1)


def test_an_auditor_reads_the_applications_history_with_what_caused_each_event(submitted, upstream):
    setup, receipt = submitted
    application_id = receipt["application_id"]
    upstream.publish("endorsement", "ApplicationReturned", returned(application_id, ["goals"], "R-audit"))
    eventually(lambda: listed(setup, application_id)["stage"] == "returned")
    with VIA.intake(Caller("auditor-1", "auditor", "SAC")) as intake:
        history = intake.audit_history(application_id=application_id)
    types = [event["type"] for event in history]
    assert types[0] == "Drafted" and types.count("SectionSaved") == 8
    assert types[-2:] == ["Submitted", "SectionsReopened"]
    assert history[-1]["caused_by"]["source"] == "endorsement"
    assert history[-2]["actor"]["organization"] == setup.credit_code


def test_the_read_models_rebuilt_from_the_log_equal_the_live_ones(submitted, upstream):
    setup, receipt = submitted
    upstream.publish("endorsement", "ApplicationReturned", returned(receipt["application_id"], ["goals"]))
    eventually(lambda: listed(setup, receipt["application_id"])["stage"] == "returned")
    tables = {"applicants": "credit_code", "units": "role, unit_id", "applications": "application_id",
              "plan_versions": "application_id, plan_version"}
    live = {table: sql("intake", f"SELECT * FROM {table} ORDER BY {key}") for table, key in tables.items()}
    Intake().rebuild_read_models()
    assert {table: sql("intake", f"SELECT * FROM {table} ORDER BY {key}") for table, key in tables.items()} == live


def assigned(application_id, expert_id):
    return {"application_id": application_id, "panel_id": str(uuid.uuid4()), "expert_id": expert_id,
            "is_chair": False, "meeting_date": "2026-06-20T09:00:00+08:00", "place": "北京"}


def test_an_expert_reads_the_plan_only_while_assigned_to_it(submitted, upstream):
    from shared.errors import NotYourApplication

    setup, receipt = submitted
    application_id = receipt["application_id"]
    expert = Caller(f"expert-{uuid.uuid4().hex[:6]}", "expert", "expert")
    with VIA.intake(expert) as intake, pytest.raises(NotYourApplication):
        intake.get_application(application_id=application_id)

    upstream.publish("expert_review", "ExpertAssigned", assigned(application_id, expert.party_id))
    plan = eventually(lambda: _readable_by(expert, application_id))
    assert plan["viewing"] == 1

    upstream.publish("expert_review", "ExpertDeclined", {
        "application_id": application_id, "panel_id": str(uuid.uuid4()), "expert_id": expert.party_id,
        "reason_kind": "unavailable", "reason": "出差"})
    eventually(lambda: _readable_by(expert, application_id) is None)


def test_an_assigned_expert_never_reads_the_working_copy(submitted, upstream):
    setup, receipt = submitted
    application_id = receipt["application_id"]
    expert = Caller(f"expert-{uuid.uuid4().hex[:6]}", "expert", "expert")
    upstream.publish("expert_review", "ExpertAssigned", assigned(application_id, expert.party_id))
    eventually(lambda: _readable_by(expert, application_id))
    with VIA.intake(expert) as intake, pytest.raises(VersionNotFound):
        intake.get_application(application_id=application_id, version=0)


def _readable_by(caller, application_id):
    from shared.errors import NotYourApplication

    with VIA.intake(caller) as intake:
        try:
            return intake.get_application(application_id=application_id)
        except NotYourApplication:
            return None
