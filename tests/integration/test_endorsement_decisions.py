"""The organizing unit's check and stamp, the recommending unit's recommendation and the
quotas, through the real endorsement service (guide §三(一)–(三), §四).

Intake, formal review and expert review are played by `Upstream`, which publishes their
integration events on the exchange exactly as their outboxes would.
"""
from __future__ import annotations

import base64
import hashlib
import io
import json
import time
import uuid

import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st
from kombu import Connection, Queue
from pypdf import PdfReader

from services.endorsement.application import Endorsement
from services.endorsement.domain import quota_slot_id
from shared import clock, settings
from shared.errors import InnobaseError, InvalidInput, NotAuthorized, RuleViolation
from services.endorsement.errors import (
    PlanVersionSuperseded,
    QuotaExceeded,
    ScanNotFound,
    UnitNotRegistered,
    UnitPairMismatch,
    WrongStage,
)
from shared.outbox import events_exchange
from shared.printable import texts
from tests.conftest import TEST_START
from tests.support.clock import set_time
from tests.support import messages
from tests.support.cluster import eventually, rpc, running, sql, token
from innobase.samples import tiny_pdf

pytestmark = pytest.mark.integration
PDF = tiny_pdf("letter")
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
KINDS = {  # (organizing kind, recommending kind) each base type's units are registered with
    "regional": ("local_standardization_authority", "local_government"),
    "domain": ("industry_association", "industry_department"),
    "international": ("industry_department_standardization_body", "industry_association"),
}
OPINION = {"text": "经审核，申报材料真实完整，同意推荐。", "head": "王五", "date": "2026-06-01"}


# --- playing the upstream services ------------------------------------------------------

class Upstream(messages.Upstream):
    """Intake, formal review and expert review as endorsement sees them (`messages.Upstream`),
    with their events in the words of each stage."""

    # intake

    def register_unit(self, role: str, kind: str, unit_id: str | None = None, **details) -> str:
        unit_id = unit_id or f"{role[:3].upper()}-{uuid.uuid4().hex[:8]}"
        payload = {"unit_id": unit_id, "name": details.get("name", f"{unit_id}单位"), "role": role, "kind": kind,
                   "credit_code": None, "region": details.get("region"), "domain": details.get("domain"),
                   "contact": details.get("contact"), "address": None, "postcode": None}
        self.publish("intake", "UnitRegistered", payload, chain=f"unit:{unit_id}")
        return unit_id

    def register_applicant(self, unit_id: str, name: str) -> None:
        person = {"name": "孙七", "title": "院长", "phone": "025-1", "fax": None, "email": None}
        self.publish("intake", "ApplicantRegistered", {
            "unit_id": unit_id, "name": name, "credit_code": unit_id, "credit_code_override": None,
            "category": "research_institute", "region": "320000", "region_known": True, "head": person,
            "contact": person, "postcode": "210000", "address": "南京市", "registered_by": "applicant-1",
        }, chain=f"applicant:{unit_id}")

    def units_for(self, base_type: str = "regional") -> tuple[str, str]:
        """A registered organizing unit and recommending unit that fit the base type."""
        organizing_kind, recommending_kind = KINDS[base_type]
        return (self.register_unit("organizing", organizing_kind),
                self.register_unit("recommending", recommending_kind,
                                   contact={"name": "赵六", "title": "处长", "phone": "010-6", "fax": None,
                                            "email": None}))

    def submit(self, organizing_unit: str, recommending_unit: str, application_id: str | None = None,
               base_type: str = "regional", region: str | None = "320000", domain: str | None = None,
               plan_version: int = 1, kind: str = "initial", answers_request: str | None = None,
               name: str = "国家技术标准创新基地（江苏）", applicant: str = "12320000466007437T",
               applicant_name: str = "江苏省标准化研究院") -> str:
        application_id = application_id or str(uuid.uuid4())
        self.publish("intake", "ApplicationSubmitted", {
            "application_id": application_id, "applicant_id": "applicant-1", "applicant_organization": applicant,
            "applicant_name": applicant_name, "base_type": base_type, "name": name,
            "region": region if base_type == "regional" else None,
            "domain": domain if base_type != "regional" else None,
            "organizing_unit_id": organizing_unit, "recommending_unit_id": recommending_unit,
            "plan_version": plan_version, "digest": uuid.uuid4().hex * 2,
            "receipt_number": f"SB20260601-{application_id[:8].upper()}-{plan_version}",
            "submitted_at": clock.now().isoformat(), "submission_kind": kind, "answers_request": answers_request,
            "changed_sections": [], "qualification_items": [], "attachments": [], "late_exception": None,
        })
        return application_id

    def withdraw(self, application_id: str) -> dict:
        return self.publish("intake", "ApplicationWithdrawn", {
            "application_id": application_id, "reason": "与合作单位合并申报", "withdrawn_at": clock.now().isoformat()})

    def find_inadmissible(self, application_id: str) -> dict:
        return self.publish("formal_review", "ApplicationFoundInadmissible", {
            "application_id": application_id, "number": None, "reasons": ["申报单位不具备独立法人资格"]})

    def decline_approval(self, application_id: str) -> dict:
        return self.publish("expert_review", "ApplicationDeclined", {
            "application_id": application_id, "number": "CXJD-2026-0001", "reasons": "专家论证未通过"})


class Published:
    """What endorsement publishes on the events exchange, as SAC's services receive it."""

    def __init__(self):
        self.connection = Connection(settings.get().amqp_uri)
        self.queue = Queue(f"test.endorsement.published.{uuid.uuid4().hex[:8]}", exchange=events_exchange(),
                           routing_key="endorsement.#", exclusive=True)(self.connection.default_channel)
        self.queue.declare()
        self.messages: list[dict] = []

    def of(self, application_id: str, event_type: str | None = None) -> list[dict]:
        while (message := self.queue.get(no_ack=True)) is not None:
            self.messages.append(json.loads(message.body))
        return [m for m in self.messages if m["application_id"] == application_id
                and (event_type is None or m["type"] == event_type)]

    def close(self):
        self.connection.release()


# --- calling endorsement ---------------------------------------------------------------

def call(caller_token: str, method: str, **arguments):
    with rpc(caller_token, timeout=30) as services:
        return getattr(services.endorsement, method)(**arguments)


def clerk(unit: str) -> str:
    return token("organizing_unit", org=unit)


def recommender(unit: str) -> str:
    return token("recommending_unit", org=unit)


def file(name: str, content: bytes = PDF) -> dict:
    return {"name": name, "content": base64.b64encode(content).decode("ascii")}


def log_position() -> int:
    return sql("endorsement", "SELECT coalesce(max(id), 0) FROM endorsement_events")[0][0]


def settled_log_position() -> int:
    """The log's position once the upstream events in flight have been recorded."""
    last = None
    while (position := log_position()) != last:
        last = position
        time.sleep(0.5)
    return position


def item_of(application_id: str, plan_version: int = 1):
    rows = sql("endorsement", "SELECT state FROM review_items WHERE application_id = %s AND plan_version = %s",
               application_id, plan_version)
    return rows[0][0] if rows else None


def queued(upstream: Upstream, organizing_unit: str, recommending_unit: str, **submission) -> str:
    application_id = upstream.submit(organizing_unit, recommending_unit, **submission)
    eventually(lambda: item_of(application_id, submission.get("plan_version", 1)) == "queued")
    return application_id


def forwarded(upstream: Upstream, organizing_unit: str, recommending_unit: str, **submission) -> str:
    application_id = queued(upstream, organizing_unit, recommending_unit, **submission)
    call(clerk(organizing_unit), "forward", application_id=application_id, opinion=OPINION,
         stamped_plan=file("申报方案（盖章）.pdf"))
    return application_id


def recommend(recommending_unit: str, application_id: str, caller: str | None = None, **overrides):
    arguments = dict(application_id=application_id, stamped_plan=file("申报方案（盖章）.pdf"),
                     recommendation_letter=file("推荐函.pdf", tiny_pdf("recommendation letter")))
    arguments.update(overrides)
    return call(caller or recommender(recommending_unit), "recommend", **arguments)


def events_of(aggregate_id, kind: str) -> int:
    return sql("endorsement", "SELECT count(*) FROM endorsement_events WHERE originator_id = %s AND topic LIKE %s",
               str(aggregate_id), f"%.{kind}")[0][0]


@pytest.fixture(scope="module")
def cluster():
    with running("endorsement") as cluster:
        yield cluster


@pytest.fixture(scope="module")
def upstream(cluster):
    return Upstream()


@pytest.fixture(scope="module")
def published(cluster):
    listener = Published()
    yield listener
    listener.close()


@pytest.fixture
def restore_clock():
    yield
    set_time(TEST_START)


# --- the organizing unit (申报组织单位) --------------------------------------------------

def test_the_organizing_unit_finds_the_submitted_applications_naming_it_oldest_first_with_version_and_digest(
        upstream):
    ou, ru = upstream.units_for()
    first = queued(upstream, ou, ru)
    second = queued(upstream, ou, ru, name="国家技术标准创新基地（苏州）")
    queue = call(clerk(ou), "organizing_queue")
    assert [item["application_id"] for item in queue["items"]] == [first, second]
    assert queue["counts"] == {"queued": 2}
    digests = sql("endorsement", "SELECT digest FROM review_items WHERE application_id = %s", first)
    assert queue["items"][0]["plan_version"] == 1 and queue["items"][0]["digest"] == digests[0][0]
    assert queue["items"][0]["organizing_unit_name"] == f"{ou}单位"
    assert call(clerk("OU-someone-else"), "organizing_queue")["items"] == []


def test_the_organizing_unit_checks_stamps_and_forwards_with_its_opinion_and_the_stamped_plan_scan(
        upstream, published):
    ou, ru = upstream.units_for()
    application_id = queued(upstream, ou, ru)
    item = call(clerk(ou), "forward", application_id=application_id, plan_version=1, opinion=OPINION,
                stamped_plan=file("申报方案（盖章）.pdf"))
    assert item["state"] == "forwarded" and item["opinion"] == OPINION
    sent = eventually(lambda: published.of(application_id, "ApplicationForwarded"))
    assert len(sent) == 1
    payload = sent[0]["payload"]
    assert payload["opinion"] == OPINION and payload["recommending_unit_id"] == ru
    assert payload["stamped_plan_scan"]["name"] == "申报方案（盖章）.pdf"
    assert payload["stamped_plan_scan"]["media_type"] == "application/pdf"
    assert sent[0]["actor"]["organization"] == ou
    stored = sql("endorsement", "SELECT content FROM blobs WHERE sha256 = %s", payload["stamped_plan_scan"]["sha256"])
    assert bytes(stored[0][0]) == PDF
    assert [i["application_id"] for i in call(recommender(ru), "recommending_queue")["items"]] == [application_id]


def test_the_stamped_plan_scan_may_come_later_and_forwarding_without_it_is_allowed(upstream, published):
    ou, ru = upstream.units_for()
    application_id = queued(upstream, ou, ru)
    call(clerk(ou), "forward", application_id=application_id, opinion=OPINION)
    sent = eventually(lambda: published.of(application_id, "ApplicationForwarded"))
    assert sent[0]["payload"]["stamped_plan_scan"] is None


@pytest.mark.parametrize("scan, rule", [
    (file("scan.pdf", b"GIF89a not a scan"), "file_type"),
    (file("scan.pdf", PNG), "file_name_mismatch"),
    (file("scan.pdf", b""), "file_empty"),
])
def test_the_stamped_plan_scan_is_checked_like_every_attachment(upstream, scan, rule):
    ou, ru = upstream.units_for()
    application_id = queued(upstream, ou, ru)
    before = log_position()
    with pytest.raises(RuleViolation) as error:
        call(clerk(ou), "forward", application_id=application_id, opinion=OPINION, stamped_plan=scan)
    assert error.value.rule == rule and error.value.details["field"].startswith("stamped_plan.")
    assert log_position() == before and item_of(application_id) == "queued"


def test_the_organizing_unit_returns_the_application_naming_the_sections_to_correct_and_why(upstream, published):
    ou, ru = upstream.units_for()
    application_id = queued(upstream, ou, ru)
    item = call(clerk(ou), "return_to_applicant", application_id=application_id,
                sections=["goals", "safeguards"], reason="考核指标不可量化，资金来源未说明")
    assert item["state"] == "returned"
    sent = eventually(lambda: published.of(application_id, "ApplicationReturned"))
    assert sent[0]["payload"]["sections"] == ["goals", "safeguards"]
    assert sent[0]["payload"]["reason"] == "考核指标不可量化，资金来源未说明"
    assert sent[0]["payload"]["request_id"] == item["return_request_id"]


def test_a_returned_and_resubmitted_application_comes_back_to_the_same_queue_as_a_new_version(upstream):
    ou, ru = upstream.units_for()
    application_id = queued(upstream, ou, ru)
    returned = call(clerk(ou), "return_to_applicant", application_id=application_id, sections=["basic"],
                    reason="单位名称与公章不一致")
    upstream.submit(ou, ru, application_id=application_id, plan_version=2, kind="returned",
                    answers_request=returned["return_request_id"])
    eventually(lambda: item_of(application_id, 2) == "queued")
    queue = call(clerk(ou), "organizing_queue")
    assert [(i["plan_version"], i["state"], i["submission_kind"]) for i in queue["items"]] == [
        (1, "returned", "initial"), (2, "queued", "returned")]
    assert queue["counts"] == {"returned": 1, "queued": 1}
    with pytest.raises(PlanVersionSuperseded):
        call(clerk(ou), "forward", application_id=application_id, plan_version=1, opinion=OPINION)
    assert call(clerk(ou), "forward", application_id=application_id, plan_version=2,
                opinion=OPINION)["plan_version"] == 2


def test_supplements_and_revisions_answer_sac_and_are_not_queued_for_the_units(upstream):
    ou, ru = upstream.units_for()
    application_id = forwarded(upstream, ou, ru)
    recommend(ru, application_id)
    upstream.submit(ou, ru, application_id=application_id, plan_version=2, kind="supplement",
                    answers_request="formal-1")
    upstream.submit(ou, ru, application_id=application_id, plan_version=3, kind="revision",
                    answers_request="expert-1")
    marker = queued(upstream, ou, ru)  # a later submission seen: the two before it were processed
    assert item_of(application_id, 2) is None and item_of(application_id, 3) is None
    assert call(clerk(ou), "organizing_queue")["counts"] == {"recommended": 1, "queued": 1}
    assert item_of(marker) == "queued"


def test_an_opinion_dated_after_today_is_refused(upstream):
    ou, ru = upstream.units_for()
    application_id = queued(upstream, ou, ru)
    with pytest.raises(RuleViolation) as error:
        call(clerk(ou), "forward", application_id=application_id, opinion={**OPINION, "date": "2026-12-31"})
    assert error.value.rule == "opinion_date"


# --- the recommending unit (推荐单位) ----------------------------------------------------

def test_the_recommending_unit_recommends_with_both_scans_and_the_recommendation_goes_to_sac(upstream, published):
    ou, ru = upstream.units_for()
    upstream.register_applicant("12320000466007437T", "江苏省标准化研究院")
    application_id = forwarded(upstream, ou, ru)
    item = recommend(ru, application_id)
    assert item["state"] == "recommended" and item["quota_slot"] == f"{ru}/2026/regional/320000"
    sent = eventually(lambda: published.of(application_id, "ApplicationRecommended"))
    assert len(sent) == 1
    payload = sent[0]["payload"]
    assert payload["recommending_unit_id"] == ru and payload["organizing_unit_id"] == ou
    assert payload["base_type"] == "regional" and payload["region"] == "320000" and payload["year"] == 2026
    assert payload["applicant_name"] == "江苏省标准化研究院" and payload["opinion"] == OPINION
    assert payload["stamped_plan_scan"]["name"] == "申报方案（盖章）.pdf"
    assert payload["recommendation_letter"]["name"] == "推荐函.pdf"
    assert payload["quota_slot"] == item["quota_slot"]
    assert [m["type"] for m in published.of(application_id)] == [
        "ReviewItemQueued", "ApplicationForwarded", "ApplicationRecommended"]
    # each published event follows the previous one of the same application
    chain = published.of(application_id)
    assert [m["previous_position"] for m in chain[1:]] == [m["position"] for m in chain[:-1]]


def test_the_scans_are_downloaded_by_the_units_named_sac_and_auditors_and_no_one_else(upstream):
    ou, ru = upstream.units_for()
    other_ou, other_ru = upstream.units_for()
    application_id = forwarded(upstream, ou, ru)
    letter = tiny_pdf("recommendation letter")
    recommend(ru, application_id)
    sha = hashlib.sha256(letter).hexdigest()
    before = settled_log_position()
    for reader in (recommender(ru), clerk(ou), token("officer"), token("auditor")):
        scan = call(reader, "get_scan", application_id=application_id, sha256=sha)
        assert (scan["kind"], scan["name"], scan["plan_version"]) == ("recommendation_letter", "推荐函.pdf", 1)
        assert base64.b64decode(scan["content"]) == letter and scan["media_type"] == "application/pdf"
    organizing = call(clerk(ou), "get_scan", application_id=application_id, sha256=hashlib.sha256(PDF).hexdigest())
    assert organizing["kind"] in ("organizing_scan", "stamped_plan_scan") and organizing["size"] == len(PDF)
    for stranger in (clerk(other_ou), recommender(other_ru), token("applicant"), token("expert")):
        for asked in (sha, "0" * 64):  # a file there or not: a stranger learns neither
            with pytest.raises(NotAuthorized):
                call(stranger, "get_scan", application_id=application_id, sha256=asked)
    with pytest.raises(ScanNotFound) as error:
        call(token("officer"), "get_scan", application_id=application_id, sha256="0" * 64)
    assert error.value.details["field"] == "sha256"
    with pytest.raises(InvalidInput) as error:
        call(token("officer"), "get_scan", application_id=application_id, sha256="not-a-hash")
    assert "sha256" in error.value.details["fields"]
    assert log_position() == before  # reading changes nothing


@pytest.mark.parametrize("missing", ["stamped_plan", "recommendation_letter"])
def test_a_recommendation_needs_both_the_stamped_plan_and_the_recommendation_letter(upstream, missing):
    ou, ru = upstream.units_for()
    application_id = forwarded(upstream, ou, ru)
    before = log_position()
    arguments = dict(application_id=application_id, stamped_plan=file("p.pdf"), recommendation_letter=file("l.pdf"))
    del arguments[missing]
    with pytest.raises(InvalidInput) as error:
        call(recommender(ru), "recommend", **arguments)
    assert list(error.value.fields) == [missing]
    assert log_position() == before and item_of(application_id) == "forwarded"


def test_the_recommendation_letters_type_and_size_are_checked(upstream):
    ou, ru = upstream.units_for()
    application_id = forwarded(upstream, ou, ru)
    before = log_position()
    with pytest.raises(RuleViolation) as error:
        recommend(ru, application_id, recommendation_letter=file("推荐函.docx", b"PK\x03\x04 word"))
    assert error.value.rule == "file_type" and error.value.details["field"] == "recommendation_letter.content"
    too_large = b"%PDF-" + b"0" * (10 * 1024 * 1024)
    with pytest.raises(RuleViolation) as error:
        recommend(ru, application_id, recommendation_letter=file("推荐函.pdf", too_large))
    assert error.value.rule == "file_too_large"
    assert log_position() == before and item_of(application_id) == "forwarded"


def test_the_recommending_unit_declines_with_a_reason_and_the_application_ends(upstream, published):
    ou, ru = upstream.units_for()
    application_id = forwarded(upstream, ou, ru)
    assert call(recommender(ru), "decline", application_id=application_id,
                reason="与本地区产业布局不符")["state"] == "declined"
    sent = eventually(lambda: published.of(application_id, "RecommendationDeclined"))
    assert sent[0]["payload"] == {"application_id": application_id, "recommending_unit_id": ru,
                                  "reason": "与本地区产业布局不符"}
    with pytest.raises(WrongStage):
        recommend(ru, application_id)
    assert call(recommender(ru), "recommending_quota")["slots"] == []


def test_the_recommending_unit_returns_the_application_to_the_organizing_unit_for_a_new_decision(
        upstream, published):
    ou, ru = upstream.units_for()
    application_id = forwarded(upstream, ou, ru)
    call(recommender(ru), "return_to_organizing_unit", application_id=application_id,
         reason="申报组织单位意见未签字")
    sent = eventually(lambda: published.of(application_id, "ApplicationReturnedToOrganizingUnit"))
    assert sent[0]["payload"]["reason"] == "申报组织单位意见未签字"
    queue = call(clerk(ou), "organizing_queue", state="queued")
    assert [(i["application_id"], i["reason"]) for i in queue["items"]] == [(application_id, "申报组织单位意见未签字")]
    with pytest.raises(WrongStage):
        recommend(ru, application_id)
    call(clerk(ou), "forward", application_id=application_id, opinion={**OPINION, "text": "已补签，同意推荐。"})
    assert recommend(ru, application_id)["opinion"]["text"] == "已补签，同意推荐。"


def test_a_recommendation_of_a_mismatched_pair_of_units_is_refused_naming_the_rule(upstream):
    association = upstream.register_unit("organizing", "industry_association")
    government = upstream.register_unit("recommending", "local_government")
    application_id = forwarded(upstream, association, government)  # a regional base
    before = log_position()
    with pytest.raises(UnitPairMismatch) as error:
        recommend(government, application_id)
    assert error.value.rule == "unit_pair" and error.value.details["organizing_unit_kind"] == "industry_association"
    assert error.value.details["allowed_organizing_kinds"] == ["local_standardization_authority"]
    assert log_position() == before and item_of(application_id) == "forwarded"


def test_a_recommendation_by_a_unit_sac_never_registered_is_refused(upstream):
    ou, _ = upstream.units_for()
    stranger = f"RU-unregistered-{uuid.uuid4().hex[:6]}"
    application_id = forwarded(upstream, ou, stranger)
    with pytest.raises(UnitNotRegistered) as error:
        recommend(stranger, application_id)
    assert error.value.details["unit_id"] == stranger


# --- quotas (guide §四) ---------------------------------------------------------------------

def test_a_recommender_recommends_one_regional_application_per_region(upstream):
    ou, ru = upstream.units_for()
    first = forwarded(upstream, ou, ru)
    second = forwarded(upstream, ou, ru, name="国家技术标准创新基地（苏南）")
    elsewhere = forwarded(upstream, ou, ru, region="330000", name="国家技术标准创新基地（浙江）")
    recommend(ru, first)
    before = log_position()
    with pytest.raises(QuotaExceeded) as error:
        recommend(ru, second)
    assert error.value.details["held_by"] == first and error.value.details["region"] == "320000"
    assert error.value.details["quota_slot"] == f"{ru}/2026/regional/320000"
    assert log_position() == before and item_of(second) == "forwarded"
    assert recommend(ru, elsewhere)["quota_slot"] == f"{ru}/2026/regional/330000"
    quota = call(recommender(ru), "recommending_quota")
    assert {(s["scope"], s["state"], s["application_id"]) for s in quota["slots"]} == {
        ("320000", "held", first), ("330000", "held", elsewhere)}


def test_another_recommending_unit_has_a_quota_of_its_own(upstream):
    ou, ru = upstream.units_for()
    other = upstream.register_unit("recommending", "local_government")
    recommend(ru, forwarded(upstream, ou, ru))
    assert recommend(other, forwarded(upstream, ou, other))["state"] == "recommended"


def test_a_recommender_recommends_one_domain_application_per_same_or_similar_domain(upstream):
    ou, ru = upstream.units_for("domain")
    robots = forwarded(upstream, ou, ru, base_type="domain", domain="EQ.01", name="国家技术标准创新基地（机器人）")
    smart = forwarded(upstream, ou, ru, base_type="domain", domain="EQ.07", name="国家技术标准创新基地（智能制造）")
    chips = forwarded(upstream, ou, ru, base_type="domain", domain="EI.01", name="国家技术标准创新基地（集成电路）")
    assert recommend(ru, robots)["quota_slot"] == f"{ru}/2026/domain/EQ"
    with pytest.raises(QuotaExceeded) as error:
        recommend(ru, smart)
    assert error.value.details["held_by"] == robots and error.value.details["domain"] == "EQ"
    assert recommend(ru, chips)["state"] == "recommended"


def test_international_applications_have_no_quota(upstream):
    ou, ru = upstream.units_for("international")
    for n in range(2):
        application_id = forwarded(upstream, ou, ru, base_type="international", domain="EI.03",
                                   name=f"国家技术标准创新基地（国际{n}）")
        item = recommend(ru, application_id)
        assert item["state"] == "recommended" and item["quota_slot"] is None


def test_the_quota_counts_per_year(upstream, restore_clock):
    ou, ru = upstream.units_for()
    this_year = forwarded(upstream, ou, ru)
    next_year = forwarded(upstream, ou, ru, name="国家技术标准创新基地（苏南）")
    recommend(ru, this_year)
    set_time("2027-06-01T10:00:00+08:00")  # Beijing time decides the year
    clerk_of_next_year = token("recommending_unit", org=ru)  # issued by the clock every process reads
    assert recommend(ru, next_year, caller=clerk_of_next_year)["quota_slot"] == f"{ru}/2027/regional/320000"
    quota = call(clerk_of_next_year, "recommending_quota", year=2026)
    assert {s["application_id"] for s in quota["slots"]} == {this_year}


def test_a_withdrawn_recommendation_frees_its_slot_for_another_application(upstream, published):
    ou, ru = upstream.units_for()
    first = forwarded(upstream, ou, ru)
    second = forwarded(upstream, ou, ru, name="国家技术标准创新基地（苏南）")
    recommend(ru, first)
    item = call(recommender(ru), "withdraw_recommendation", application_id=first, reason="改为推荐苏南方案")
    assert item["state"] == "forwarded" and item["quota_slot"] is None
    sent = eventually(lambda: published.of(first, "RecommendationWithdrawn"))
    assert sent[0]["payload"]["quota_slot"] == f"{ru}/2026/regional/320000"
    assert recommend(ru, second)["state"] == "recommended"
    slot = quota_slot_id(ru, 2026, "regional", "320000")
    assert (events_of(slot, "SlotClaimed"), events_of(slot, "SlotReleased")) == (2, 1)
    [held] = call(recommender(ru), "recommending_quota")["slots"]
    assert held["application_id"] == second and held["state"] == "held"
    # the first awaits the recommending unit's decision again, and the slot is taken
    pending = call(recommender(ru), "recommending_queue", state="forwarded")["items"]
    assert [(i["application_id"], i["reason"]) for i in pending] == [(first, "改为推荐苏南方案")]
    with pytest.raises(QuotaExceeded) as error:
        recommend(ru, first)
    assert error.value.details["held_by"] == second


@pytest.mark.parametrize("ending", ["withdraw", "find_inadmissible", "decline_approval"])
def test_the_end_of_the_recommended_application_frees_its_slot(upstream, ending):
    ou, ru = upstream.units_for()
    first = forwarded(upstream, ou, ru)
    second = forwarded(upstream, ou, ru, name="国家技术标准创新基地（苏南）")
    recommend(ru, first)
    getattr(upstream, ending)(first)
    eventually(lambda: item_of(first) == "closed")
    assert recommend(ru, second)["state"] == "recommended"
    history = call(token("auditor"), "endorsement_history", application_id=first)["events"]
    closed = history[-1]
    assert closed["type"] == "ReviewItemClosed"
    assert closed["details"]["released_quota_slot"] == f"{ru}/2026/regional/320000"
    assert closed["caused_by"]["source"] == {"withdraw": "intake", "find_inadmissible": "formal_review",
                                             "decline_approval": "expert_review"}[ending]


def test_a_withdrawn_application_leaves_both_queues(upstream):
    ou, ru = upstream.units_for()
    waiting = queued(upstream, ou, ru)
    forwarded_one = forwarded(upstream, ou, ru, name="国家技术标准创新基地（苏南）")
    upstream.withdraw(waiting)
    upstream.withdraw(forwarded_one)
    eventually(lambda: item_of(waiting) == item_of(forwarded_one) == "closed")
    assert call(clerk(ou), "organizing_queue")["counts"] == {"closed": 2}
    assert call(recommender(ru), "recommending_queue")["counts"] == {"closed": 1}


# --- queries and documents ---------------------------------------------------------------------

def test_each_units_queue_counts_its_items_by_state(upstream):
    ou, ru = upstream.units_for()
    ids = [forwarded(upstream, ou, ru, region=f"3{n}0000", name=f"国家技术标准创新基地（{n}）") for n in range(3)]
    queued(upstream, ou, ru)
    recommend(ru, ids[0])
    call(recommender(ru), "decline", application_id=ids[1], reason="材料不全")
    assert call(clerk(ou), "organizing_queue")["counts"] == {"queued": 1, "forwarded": 1, "recommended": 1,
                                                             "declined": 1}
    queue = call(recommender(ru), "recommending_queue")
    assert queue["counts"] == {"forwarded": 1, "recommended": 1, "declined": 1}
    assert [i["application_id"] for i in queue["items"]] == ids
    pending = call(recommender(ru), "recommending_queue", state="forwarded", limit=10)
    assert [i["application_id"] for i in pending["items"]] == [ids[2]]
    assert call(recommender(ru), "recommending_queue", limit=1, offset=1)["items"][0]["application_id"] == ids[1]


def test_the_endorsement_history_lists_every_endorsement_event_of_one_application(upstream):
    ou, ru = upstream.units_for()
    application_id = queued(upstream, ou, ru)
    returned = call(clerk(ou), "return_to_applicant", application_id=application_id, sections=["goals"],
                    reason="考核指标不可量化")
    upstream.submit(ou, ru, application_id=application_id, plan_version=2, kind="returned",
                    answers_request=returned["return_request_id"])
    eventually(lambda: item_of(application_id, 2) == "queued")
    call(clerk(ou), "forward", application_id=application_id, opinion=OPINION)
    call(recommender(ru), "return_to_organizing_unit", application_id=application_id, reason="意见未签字")
    call(clerk(ou), "forward", application_id=application_id, opinion=OPINION)
    recommend(ru, application_id)
    history = call(recommender(ru), "endorsement_history", application_id=application_id)
    assert [(e["type"], e["plan_version"]) for e in history["events"]] == [
        ("ReviewItemQueued", 1), ("ApplicationReturned", 1), ("ReviewItemQueued", 2),
        ("ApplicationForwarded", 2), ("ApplicationReturnedToOrganizingUnit", 2), ("ApplicationForwarded", 2),
        ("ApplicationRecommended", 2)]
    events = history["events"]
    assert events[1]["details"]["sections"] == ["goals"] and events[1]["actor"]["organization"] == ou
    assert events[0]["caused_by"]["source"] == "intake" and events[0]["actor"] is None
    assert events[2]["details"]["answers_request"] == returned["return_request_id"]
    assert events[-1]["details"]["quota_slot"] == f"{ru}/2026/regional/320000"
    assert call(clerk(ou), "endorsement_history", application_id=application_id) == history
    assert call(token("officer"), "endorsement_history", application_id=application_id) == history


def test_the_endorsement_history_is_read_only_by_the_units_it_names_officers_and_auditors(upstream):
    ou, ru = upstream.units_for()
    application_id = queued(upstream, ou, ru)
    for stranger in (clerk("OU-other"), recommender("RU-other")):
        with pytest.raises(NotAuthorized) as error:
            call(stranger, "endorsement_history", application_id=application_id)
        assert error.value.code == "not_your_application"
    with pytest.raises(NotAuthorized) as error:
        call(token("applicant"), "endorsement_history", application_id=application_id)
    assert error.value.code == "not_authorized"


def letter_text(letter: dict) -> str:
    """The letter's text in the order it is drawn (pdftotext reorders the rotated watermark)."""
    return "".join(texts(PdfReader(io.BytesIO(base64.b64decode(letter["content"]))).pages))


def test_the_recommendation_letter_is_a_watermarked_preview_until_the_unit_enters_its_reference(upstream):
    ou = upstream.register_unit("organizing", KINDS["regional"][0], region="320000")
    ru = upstream.register_unit("recommending", KINDS["regional"][1], region="320000", name="江苏省人民政府",
                                contact={"name": "赵六", "title": "处长", "phone": "010-6", "fax": None, "email": None})
    upstream.register_applicant("12320000466007437T", "江苏省标准化研究院")
    application_id = forwarded(upstream, ou, ru, region="320100")
    preview = call(recommender(ru), "recommendation_letter_pdf", application_id=application_id)
    assert preview["media_type"] == "application/pdf" and preview["preview"] and preview["reference"] is None
    assert "草稿·非正式文本" in letter_text(preview)

    numbered = call(recommender(ru), "number_recommendation_letter", application_id=application_id,
                    reference="苏政函〔2026〕12号")
    assert numbered["letter_reference"] == {"reference": "苏政函〔2026〕12号", "issued_on": "2026-06-01"}
    assert events_of(uuid.UUID(numbered["item_id"]), "LetterNumbered") == 1
    issued = call(recommender(ru), "recommendation_letter_pdf", application_id=application_id)
    text = letter_text(issued)
    assert not issued["preview"] and issued["reference"] == "苏政函〔2026〕12号"
    for expected in ("苏政函〔2026〕12号", "关于推荐江苏省标准化研究院申报国家技术标准创新基地的函", "国家标准化管理委员会：",
                     "12320000466007437T", f"{ou}单位", "本年度在江苏省行政区域范围内", "江苏省人民政府", "2026年6月1日",
                     "联系人：赵六"):
        assert expected in text, expected
    assert "草稿" not in text
    assert call(token("officer"), "recommendation_letter_pdf", application_id=application_id)["content"]
    with pytest.raises(NotAuthorized):
        call(recommender("RU-other"), "recommendation_letter_pdf", application_id=application_id)


def test_a_malformed_letter_reference_is_refused_naming_the_field_and_changes_nothing(upstream):
    ou, ru = upstream.units_for()
    application_id = forwarded(upstream, ou, ru)
    before = settled_log_position()
    with pytest.raises(InvalidInput) as error:
        call(recommender(ru), "number_recommendation_letter", application_id=application_id, reference="12号")
    assert "reference" in error.value.details["fields"]
    with pytest.raises(NotAuthorized):
        call(recommender("RU-other"), "number_recommendation_letter", application_id=application_id,
             reference="苏政函〔2026〕12号")
    assert log_position() == before


def test_there_is_no_letter_to_draft_before_the_organizing_unit_forwarded_the_application(upstream):
    ou, ru = upstream.units_for()
    application_id = queued(upstream, ou, ru)
    with pytest.raises(WrongStage):
        call(recommender(ru), "recommendation_letter_pdf", application_id=application_id)


# --- who may act ----------------------------------------------------------------------------------

def test_a_unit_acts_only_on_applications_that_name_it_and_another_units_attempt_changes_nothing(upstream):
    ou, ru = upstream.units_for()
    other_ou, other_ru = upstream.units_for()
    waiting = queued(upstream, ou, ru)
    ready = forwarded(upstream, ou, ru, name="国家技术标准创新基地（苏南）")
    before = log_position()
    attempts = [
        (clerk(other_ou), "forward", dict(application_id=waiting, opinion=OPINION)),
        (clerk(other_ou), "return_to_applicant", dict(application_id=waiting, sections=["basic"], reason="r")),
        (recommender(other_ru), "recommend", dict(application_id=ready, stamped_plan=file("p.pdf"),
                                                  recommendation_letter=file("l.pdf"))),
        (recommender(other_ru), "decline", dict(application_id=ready, reason="r")),
        (recommender(other_ru), "return_to_organizing_unit", dict(application_id=ready, reason="r")),
        (recommender(other_ru), "withdraw_recommendation", dict(application_id=ready, reason="r")),
    ]
    for caller, method, arguments in attempts:
        with pytest.raises(NotAuthorized) as error:
            call(caller, method, **arguments)
        assert error.value.code == "not_your_application", method
    # the right unit in the wrong role, and other parties, may not decide either
    for caller, method, arguments in (
            (recommender(ou), "forward", dict(application_id=ready, opinion=OPINION)),
            (clerk(ru), "decline", dict(application_id=ready, reason="r")),
            (token("applicant"), "decline", dict(application_id=ready, reason="r")),
            (token("officer"), "recommend", attempts[2][2])):
        with pytest.raises(NotAuthorized) as error:
            call(caller, method, **arguments)
        assert error.value.code == "not_authorized", method
    assert log_position() == before
    assert (item_of(waiting), item_of(ready)) == ("queued", "forwarded")


def test_an_unknown_application_is_named_in_the_error(upstream):
    missing = str(uuid.uuid4())
    with pytest.raises(InnobaseError) as error:
        call(clerk("OU-x"), "forward", application_id=missing, opinion=OPINION)
    assert error.value.code == "application_not_found" and error.value.details["application_id"] == missing


RPCS = ["organizing_queue", "forward", "return_to_applicant", "recommending_queue", "recommend", "decline",
        "return_to_organizing_unit", "withdraw_recommendation", "recommending_quota", "endorsement_history",
        "recommendation_letter_pdf", "get_scan", "number_recommendation_letter"]
values = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-3, max_value=3000), st.text(max_size=40),
    st.sampled_from(["goals", "queued", "2026-06-01", "推荐", "\x00", str(uuid.uuid4()), "a" * 64]),
    st.lists(st.sampled_from(["basic", "goals", "castle", 7]), max_size=3),
    st.fixed_dictionaries({}, optional={"text": st.text(max_size=20), "head": st.text(max_size=5),
                                        "date": st.sampled_from(["2026-06-01", "2026-13-01", "x"])}),
    st.fixed_dictionaries({}, optional={"name": st.sampled_from(["p.pdf", "p.png", ""]),
                                        "content": st.sampled_from([file("p.pdf")["content"], "%%%", ""])}),
)


@pytest.fixture(scope="module")
def settled(upstream):
    """A unit pair whose only application was declined: no valid decision is left to take on it."""
    ou, ru = upstream.units_for()
    application_id = forwarded(upstream, ou, ru)
    call(recommender(ru), "decline", application_id=application_id, reason="材料不全")
    return ou, ru, application_id


@hsettings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(method=st.sampled_from(RPCS), role=st.sampled_from(["organizing_unit", "recommending_unit", "applicant",
                                                           "officer"]),
       target=st.sampled_from(["settled", "unknown", "garbage", None]),
       payload=st.dictionaries(st.sampled_from(["plan_version", "opinion", "stamped_plan", "recommendation_letter",
                                                "sections", "reason", "state", "limit", "offset", "year", "sha256",
                                                "zzz"]),
                               values, max_size=5))
def test_random_payloads_get_typed_errors_and_change_nothing(settled, method, role, target, payload):
    ou, ru, application_id = settled
    organization = {"organizing_unit": ou, "recommending_unit": ru}.get(role, "org-x")
    if target is not None:
        payload = {**payload, "application_id": {"settled": application_id, "unknown": str(uuid.uuid4()),
                                                 "garbage": "not-a-uuid"}[target]}
    before = log_position()
    try:
        call(token(role, org=organization), method, **payload)
    except InnobaseError:
        pass  # typed: the only acceptable failure
    else:
        assert method in ("organizing_queue", "recommending_queue", "recommending_quota", "endorsement_history"), (
            f"{method} accepted {payload!r}")
    assert log_position() == before


def test_every_read_model_rebuilt_from_the_log_equals_the_live_one(upstream):
    """Queues, history, quotas and units are all derived from the log (run after the flows above)."""
    tables = ("review_items", "endorsement_history", "quota_slots", "units")
    live = {table: sql("endorsement", f"SELECT * FROM {table} ORDER BY 1") for table in tables}
    assert all(live.values())
    Endorsement().rebuild_read_models()
    assert {table: sql("endorsement", f"SELECT * FROM {table} ORDER BY 1") for table in tables} == live
