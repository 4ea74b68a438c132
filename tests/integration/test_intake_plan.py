"""Writing, checking, submitting and printing the plan (网上申报) through the real service: each
section saved on its own, files typed by their content and stored once, the check before
submission, the submission window, the frozen version with its digest and receipt, the
printable plan, the portal's queries and withdrawal."""
import base64
import hashlib
import json
import re
import subprocess
import uuid

import pytest

from services.intake.application import Intake
from shared.auth import Caller
from shared.blobs import MAX_BYTES
from shared.errors import InvalidInput, NotAuthorized, RuleViolation
from services.intake.errors import ApplicationClosed, PlanIncomplete, SectionClosed, SubmissionWindowClosed
from tests.conftest import TEST_START
from tests.support import clock as test_clock
from tests.support.applications import (
    OFFICER,
    Direct,
    OverRpc,
    PublishedEvents,
    applicant_caller,
    b64,
    complete_draft,
    create_draft,
    fill_every_section,
    prepare,
    printed_plan,
    sections,
    submit_complete,
    tiny_pdf,
    tiny_png,
    upload_evidence,
)
from tests.support.cluster import eventually, rpc, running, sql, token

pytestmark = pytest.mark.integration
VIA = OverRpc()


@pytest.fixture(scope="module")
def cluster():
    with running("intake") as cluster:
        yield cluster


@pytest.fixture(scope="module")
def published(cluster):
    with PublishedEvents() as events:
        yield events


@pytest.fixture
def clock():
    yield test_clock
    test_clock.set_time(TEST_START)


def log_position():
    return sql("intake", "SELECT coalesce(max(id), 0) FROM intake_events")[0][0]


def events_of(application_id):
    rows = sql("intake", "SELECT topic FROM intake_events WHERE originator_id = %s ORDER BY originator_version",
               application_id)
    return [topic.rsplit(".", 1)[-1] for (topic,) in rows]


def a_draft(base_type="regional"):
    setup = prepare(VIA, base_type)
    with VIA.intake(setup.applicant) as intake:
        return setup, create_draft(intake, setup)


# --- writing ---------------------------------------------------------------------------------


def test_each_section_is_saved_on_its_own_and_each_save_is_an_event(cluster):
    setup, draft = a_draft()
    with VIA.intake(setup.applicant) as intake:
        content = fill_every_section(intake, draft["application_id"], setup)
        intake.save_section(application_id=draft["application_id"], section="safeguards",
                            content={**content["safeguards"], "policy_support": "追加的政策支持。"})
        application = intake.get_application(application_id=draft["application_id"])
    assert events_of(draft["application_id"]).count("SectionSaved") == 9
    assert application["sections"]["safeguards"]["policy_support"] == "追加的政策支持。"
    assert application["sections"]["goals"]["indicators"][2]["target_value"] == 2000


def test_a_partial_plan_is_saved_and_the_check_lists_what_is_missing_by_section(cluster):
    setup, draft = a_draft()
    with VIA.intake(setup.applicant) as intake:
        intake.save_section(application_id=draft["application_id"], section="goals",
                            content={"goal": "建成区域技术标准创新高地"})
        result = intake.check(application_id=draft["application_id"])
    assert result["complete"] is False
    assert set(result["problems"]) == {"significance", "feasibility", "qualifications", "goals", "safeguards",
                                       "attachments", "applicant_opinion"}
    goals = {p["field"] for p in result["problems"]["goals"]}
    assert "goals.goal" not in goals and {"goals.key_tasks", "goals.schedule"} <= goals
    assert all(p["problem"] in ("missing", "invalid") and p["message"] for ps in result["problems"].values()
               for p in ps)


def test_a_target_without_a_number_is_refused_naming_the_field_and_changes_nothing(cluster):
    setup, draft = a_draft()
    goals = sections(setup, {}, [])["goals"]
    goals["indicators"][0]["target_value"] = "十项以上"
    before = log_position()
    with VIA.intake(setup.applicant) as intake:
        with pytest.raises(InvalidInput) as error:
            intake.save_section(application_id=draft["application_id"], section="goals", content=goals)
    assert error.value.fields == {"content": {"indicators": {"0": {"target_value": [
        "A number is required (e.g. 20 or 99.5), not text."]}}}}
    assert log_position() == before


def test_a_milestone_outside_the_two_year_construction_period_is_refused(cluster):
    setup, draft = a_draft()
    goals = sections(setup, {}, [])["goals"]
    goals["schedule"]["milestones"][1]["date"] = "2029-03-01"
    with VIA.intake(setup.applicant) as intake:
        with pytest.raises(InvalidInput) as error:
            intake.save_section(application_id=draft["application_id"], section="goals", content=goals)
    assert "date" in error.value.fields["content"]["schedule"]["milestones"]["1"]


def test_text_over_its_limit_is_refused_naming_the_field(cluster):
    setup, draft = a_draft()
    with VIA.intake(setup.applicant) as intake:
        with pytest.raises(InvalidInput) as error:
            intake.save_section(application_id=draft["application_id"], section="significance",
                                content={"significance": "意义" * 10001})
    assert set(error.value.fields["content"]) == {"significance"}


# --- files ----------------------------------------------------------------------------------


def test_a_file_is_typed_by_its_content_and_stored_once_by_sha256(cluster):
    photo = tiny_png(4242)
    stored = []
    for _ in range(2):
        setup, draft = a_draft()
        with VIA.intake(setup.applicant) as intake:
            stored.append(intake.upload_attachment(application_id=draft["application_id"], name="现场照片.PNG",
                                                   content=b64(photo)))
    sha = hashlib.sha256(photo).hexdigest()
    assert [(a["sha256"], a["media_type"], a["size"]) for a in stored] == [(sha, "image/png", len(photo))] * 2
    assert stored[0]["uploaded_by"] != stored[1]["uploaded_by"]
    assert sql("intake", "SELECT count(*), min(media_type) FROM blobs WHERE sha256 = %s", sha) == [(1, "image/png")]
    with VIA.intake(setup.applicant) as intake:
        fetched = intake.get_attachment(application_id=draft["application_id"], sha256=sha)
    assert base64.b64decode(fetched["content"]) == photo


def test_the_upload_event_records_hash_name_size_type_and_uploader(cluster):
    setup, draft = a_draft()
    content = tiny_pdf("upload event")
    with VIA.intake(setup.applicant) as intake:
        intake.upload_attachment(application_id=draft["application_id"], name="证书.pdf", content=b64(content))
    state = Intake().repository.get(uuid.UUID(draft["application_id"]))
    assert state.files[hashlib.sha256(content).hexdigest()] == {
        "sha256": hashlib.sha256(content).hexdigest(), "name": "证书.pdf", "size": len(content),
        "media_type": "application/pdf", "uploaded_by": setup.applicant.party_id}
    assert events_of(draft["application_id"])[-1] == "AttachmentUploaded"


@pytest.mark.parametrize("name, content, rule", [
    ("证书.pdf", tiny_png(1), "file_name_mismatch"),
    ("照片.png", tiny_pdf("x"), "file_name_mismatch"),
    ("说明.pdf", "纯文本不是PDF".encode("utf-8"), "file_type"),
    ("空.pdf", b"", None),
])
def test_a_file_whose_content_does_not_match_its_name_is_refused(cluster, name, content, rule):
    setup, draft = a_draft()
    before = log_position()
    with VIA.intake(setup.applicant) as intake:
        with pytest.raises((RuleViolation, InvalidInput)) as error:
            intake.upload_attachment(application_id=draft["application_id"], name=name, content=b64(content))
    if rule:
        assert error.value.rule == rule
    assert log_position() == before


def test_a_file_over_the_size_limit_is_refused(cluster):
    setup = prepare(Direct(Intake()))
    worker = Direct(Intake())  # the 14 MB message stays off the broker: the same entrypoint, in process
    with worker.intake(setup.applicant) as intake:
        draft = create_draft(intake, setup)
        with pytest.raises(RuleViolation) as error:
            intake.upload_attachment(application_id=draft["application_id"], name="大文件.pdf",
                                     content=b64(b"%PDF-" + b"0" * (MAX_BYTES - 4)))
    assert error.value.rule == "file_too_large"


def test_evidence_must_be_a_file_uploaded_to_this_application(cluster):
    setup, draft = a_draft()
    with VIA.intake(setup.applicant) as intake:
        with pytest.raises(InvalidInput) as error:
            intake.save_section(application_id=draft["application_id"], section="qualifications", content={
                "items": [{"item": 1, "declared": True, "statement": "s", "evidence": ["a" * 64]}]})
    assert error.value.fields["content"]["items"]["0"]["evidence"]["0"]


# --- submission -----------------------------------------------------------------------------


def test_a_complete_plan_submitted_in_the_window_is_frozen_with_its_digest_and_a_receipt(cluster, published):
    setup = prepare(VIA)
    receipt = submit_complete(VIA, setup)
    assert receipt["stage"] == "submitted" and receipt["plan_version"] == 1
    assert re.fullmatch(r"SB20260601-\d{6}", receipt["receipt_number"])
    with VIA.intake(setup.applicant) as intake:
        version = intake.get_application(application_id=receipt["application_id"], version=1)
    frozen = {"application_id": receipt["application_id"], "base_type": "regional",
              "sections": version["sections"], "files": version["files"]}
    canonical = json.dumps(frozen, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")
    assert hashlib.sha256(canonical).hexdigest() == receipt["digest"] == version["digest"]
    assert version["sections"]["basic"]["applicant"]["credit_code"] == setup.credit_code

    event = eventually(lambda: published.of("ApplicationSubmitted", application_id=receipt["application_id"]))[0]
    payload = event["payload"]
    assert (payload["digest"], payload["receipt_number"], payload["plan_version"]) == (
        receipt["digest"], receipt["receipt_number"], 1)
    assert (payload["submission_kind"], payload["answers_request"], payload["late_exception"]) == (
        "initial", None, None)
    assert (payload["region"], payload["domain"], payload["applicant_name"]) == ("320100", None, "江苏省标准化研究院")
    assert payload["applicant_organization"] == setup.credit_code
    assert [item["item"] for item in payload["qualification_items"]] == [1, 2, 3, 4, 5, 6]
    assert all(len(item["evidence"]) == 1 and item["declared"] for item in payload["qualification_items"])
    assert len(payload["attachments"]) == 8 and {a["media_type"] for a in payload["attachments"]} == {
        "application/pdf", "image/png"}


def test_an_incomplete_plan_is_refused_with_every_missing_item_by_section(cluster):
    setup, draft = a_draft()
    before = log_position()
    with VIA.intake(setup.applicant) as intake:
        with pytest.raises(PlanIncomplete) as error:
            intake.submit(application_id=draft["application_id"])
        check = intake.check(application_id=draft["application_id"])
    assert error.value.details["problems"] == check["problems"]
    assert "qualifications" in check["problems"] and "basic" not in check["problems"]
    assert log_position() == before


def test_submission_outside_5_may_to_30_july_needs_an_officers_recorded_exception(cluster, clock, published):
    setup = prepare(VIA)
    draft = complete_draft(VIA, setup)
    clock.set_time("2026-07-31T00:00:01+08:00")
    with VIA.intake(setup.applicant) as intake:
        with pytest.raises(SubmissionWindowClosed) as error:
            intake.submit(application_id=draft["application_id"])
    assert error.value.rule == "submission_window"
    with VIA.intake(setup.applicant) as intake:
        with pytest.raises(NotAuthorized):
            intake.grant_late_submission(application_id=draft["application_id"], reason="mine")
    with VIA.intake(OFFICER) as officer:
        officer.grant_late_submission(application_id=draft["application_id"], reason="推荐单位来函说明延误原因，同意受理")
    with VIA.intake(setup.applicant) as intake:
        receipt = intake.submit(application_id=draft["application_id"])
    assert receipt["receipt_number"].startswith("SB20260731-")
    event = eventually(lambda: published.of("ApplicationSubmitted", application_id=draft["application_id"]))[0]
    assert event["payload"]["late_exception"] == "推荐单位来函说明延误原因，同意受理"


def test_after_submission_the_sections_are_closed(cluster):
    setup = prepare(VIA)
    receipt = submit_complete(VIA, setup)
    before = log_position()
    with VIA.intake(setup.applicant) as intake:
        with pytest.raises(SectionClosed) as error:
            intake.save_section(application_id=receipt["application_id"], section="goals", content={})
        assert error.value.details["open_sections"] == []
        with pytest.raises(SectionClosed):
            intake.upload_attachment(application_id=receipt["application_id"], name="x.png", content=b64(tiny_png()))
        with pytest.raises(RuleViolation) as error:
            intake.submit(application_id=receipt["application_id"])
    assert error.value.rule == "already_submitted"
    assert log_position() == before


def test_every_receipt_number_is_unique(cluster):
    setup = prepare(VIA)
    receipts = [submit_complete(VIA, setup)["receipt_number"] for _ in range(4)]
    assert len(set(receipts)) == 4
    stored = sql("intake", "SELECT receipt_number FROM plan_versions WHERE receipt_number = ANY(%s)", receipts)
    assert sorted(r[0] for r in stored) == sorted(receipts)


# --- the printable plan ------------------------------------------------------------------


def run(*args):
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


def test_the_printable_plan_is_an_a4_chinese_pdf_with_version_and_digest_on_every_page_but_the_cover(cluster, tmp_path):
    setup = prepare(VIA)
    receipt = submit_complete(VIA, setup)
    with VIA.intake(setup.applicant) as intake:
        printed = intake.plan_pdf(application_id=receipt["application_id"])
    assert printed["media_type"] == "application/pdf" and printed["plan_version"] == 1
    path = tmp_path / printed["filename"]
    path.write_bytes(base64.b64decode(printed["content"]))
    pages = int(re.search(r"Pages:\s+(\d+)", run("pdfinfo", str(path))).group(1))
    assert pages % 2 == 0
    for page in range(1, pages + 1):
        text = re.sub(r"\s+", "", run("pdftotext", "-f", str(page), "-l", str(page), str(path), "-"))
        if page == 1:
            assert receipt["digest"] not in text  # the cover carries none of it
        elif text and page != 3:  # blank versos and 填写说明 carry nothing but their own
            assert receipt["digest"] in text and "第1版" in text, page
    text = re.sub(r"\s+", "", run("pdftotext", str(path), "-"))
    headings = ["一、基本信息", "二、创新基地建设的意义和必要性", "三、创新基地建设的可行性", "四、目标和任务", "五、保障措施",
                "六、附件", "七、申报意见"]
    assert [text.find(h) for h in headings] == sorted(text.find(h) for h in headings) and -1 not in [
        text.find(h) for h in headings]
    assert setup.credit_code in text and "国家技术标准创新基地（江苏）" in text
    sizes = re.findall(r"size:\s+([\d.]+) x ([\d.]+) pts", run("pdfinfo", "-f", "1", "-l", str(pages), str(path)))
    assert {(round(float(w)), round(float(h))) for w, h in sizes} == {(595, 842)}
    fonts = run("pdffonts", str(path)).splitlines()[2:]
    assert fonts and all("CID TrueType" in row and re.search(r"yes\s+yes\s+yes", row) for row in fonts)


def test_a_draft_prints_as_a_preview_marked_unsubmitted(cluster, tmp_path):
    setup = prepare(VIA)
    draft = complete_draft(VIA, setup)
    path = tmp_path / "draft.pdf"
    printed = printed_plan(VIA, setup.applicant, draft["application_id"], path)
    text = re.sub(r"\s+", "", run("pdftotext", "-raw", str(path), "-"))
    assert printed["plan_version"] == 0 and "草稿（未提交）" in text and "草稿·非正式文本" in text


# --- who sees what -------------------------------------------------------------------------


def test_an_applicant_sees_only_its_own_applications_and_officers_see_all(cluster):
    first, second = prepare(VIA), prepare(VIA)
    one = submit_complete(VIA, first)
    two = complete_draft(VIA, second)
    with VIA.intake(first.applicant) as intake:
        mine = intake.my_applications()
    assert [a["application_id"] for a in mine] == [one["application_id"]]
    assert (mine[0]["stage"], mine[0]["plan_version"], mine[0]["next_deadline"]) == ("submitted", 1, None)
    with VIA.intake(OFFICER) as officer:
        everyone = {a["application_id"] for a in officer.my_applications(limit=1000)}
        drafts = {a["application_id"] for a in officer.my_applications(stage="draft", limit=1000)}
    assert {one["application_id"], two["application_id"]} <= everyone
    assert two["application_id"] in drafts and one["application_id"] not in drafts


def test_my_applications_shows_when_each_was_last_worked_on(cluster, clock):
    setup = prepare(VIA)
    content = sections(setup, {}, [])
    with VIA.intake(setup.applicant) as intake:
        draft = create_draft(intake, setup)
        clock.set_time("2026-06-01T10:20:00+08:00")  # twenty minutes into the work
        intake.save_section(application_id=draft["application_id"], section="significance",
                            content=content["significance"])
        listed, = [a for a in intake.my_applications() if a["application_id"] == draft["application_id"]]
    assert listed["created_at"] < listed["updated_at"]
    assert listed["updated_at"].startswith("2026-06-01T02:20:0")  # the clock runs on from where it was set


def test_a_named_organizing_unit_sees_the_submitted_versions_only(cluster):
    setup = prepare(VIA)
    receipt = submit_complete(VIA, setup)
    draft = complete_draft(VIA, setup)
    clerk = Caller("clerk-1", "organizing_unit", setup.organizing_unit_id)
    with VIA.intake(clerk) as intake:
        listed = {a["application_id"] for a in intake.my_applications()}
        version = intake.get_application(application_id=receipt["application_id"])
        with pytest.raises(NotAuthorized):
            intake.get_application(application_id=draft["application_id"])
    assert receipt["application_id"] in listed and draft["application_id"] not in listed
    assert version["viewing"] == 1


def test_another_applicant_neither_reads_nor_changes_the_application(cluster):
    setup, draft = a_draft()
    stranger = applicant_caller()
    before = log_position()
    with VIA.intake(stranger) as intake:
        for call, arguments in [("get_application", {}), ("plan_pdf", {}), ("check", {}), ("versions", {}),
                                ("save_section", {"section": "significance", "content": {}}),
                                ("withdraw", {"reason": "not mine"})]:
            with pytest.raises(NotAuthorized) as error:
                getattr(intake, call)(application_id=draft["application_id"], **arguments)
            assert error.value.code == "not_your_application", call
    assert log_position() == before


# --- withdrawal ---------------------------------------------------------------------------


def test_a_withdrawal_records_its_reason_and_stops_every_change(cluster, published):
    setup = prepare(VIA)
    receipt = submit_complete(VIA, setup)
    with VIA.intake(setup.applicant) as intake:
        with pytest.raises(InvalidInput):
            intake.withdraw(application_id=receipt["application_id"], reason="")
        answer = intake.withdraw(application_id=receipt["application_id"], reason="与合作单位联合申报，撤回本单位申请")
        with pytest.raises(ApplicationClosed):
            intake.withdraw(application_id=receipt["application_id"], reason="again")
    assert (answer["stage"], answer["withdrawal_reason"]) == ("withdrawn", "与合作单位联合申报，撤回本单位申请")
    event = eventually(lambda: published.of("ApplicationWithdrawn", application_id=receipt["application_id"]))[0]
    assert event["payload"]["reason"] == "与合作单位联合申报，撤回本单位申请"


def test_a_token_of_another_role_cannot_write_the_plan(cluster):
    setup, draft = a_draft()
    with rpc(token("expert")) as services:
        with pytest.raises(NotAuthorized):
            services.intake.save_section(application_id=draft["application_id"], section="goals", content={})


def test_upload_evidence_helper_stores_one_file_per_item(cluster):
    setup, draft = a_draft("international")
    with VIA.intake(setup.applicant) as intake:
        evidence, attachments = upload_evidence(intake, draft["application_id"], "international")
    assert sorted(evidence) == [1, 2, 3, 4, 5] and len(set(evidence.values())) == 5 and len(attachments) == 2
