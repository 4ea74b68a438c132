"""Helpers the review tests share (no tests of their own): upstream services played by
publishing their integration events exactly as they would, tokens, and what to look at.

`intake`, `endorsement` and `formal_review` publish as those services' outboxes would
(`tests.support.messages.Upstream`: increasing positions, `previous_position` chained per
application, every payload through `shared.contracts.build`, so a test cannot publish what
the real service could not).
"""
from __future__ import annotations

import base64
import uuid
from datetime import timedelta

from shared.reference.credit_code import make_credit_code
from shared import clock
from shared.contracts import SECTIONS
from shared.contracts.review import DIMENSIONS
from tests.support.cluster import eventually, rpc, sql, token
from tests.support.messages import Upstream
from innobase.samples import tiny_pdf

TEST_START = "2026-06-01T10:00:00+08:00"
PDF = tiny_pdf("construction plan")
SCAN = {"sha256": "a" * 64, "name": "stamped-plan.pdf", "size": 2048, "media_type": "application/pdf"}
LETTER = {"sha256": "b" * 64, "name": "recommendation-letter.pdf", "size": 1024, "media_type": "application/pdf"}
EVIDENCE = [{"sha256": "c" * 64, "name": "certificate.pdf", "size": 512, "media_type": "application/pdf"}]
QUALIFICATIONS = {"regional": 6, "domain": 5, "international": 5}
UPSTREAM = Upstream()
intake = UPSTREAM.speaking_as("intake")
endorsement = UPSTREAM.speaking_as("endorsement")
formal_review = UPSTREAM.speaking_as("formal_review")


def credit_code(seed: str | None = None) -> str:
    body = (seed or uuid.uuid4().hex.upper()).replace("I", "1").replace("O", "0").replace("S", "5") \
        .replace("V", "U").replace("Z", "2")[:8]
    return make_credit_code("1", "2", "320000", body)


class Application:
    """One application's facts as the upstream services state them."""

    def __init__(self, base_type: str = "regional", region: str | None = "320000", domain: str | None = None):
        self.application_id = str(uuid.uuid4())
        self.base_type = base_type
        self.region = region if base_type == "regional" else None
        self.domain = domain or ("EQ.07" if base_type != "regional" else None)
        self.applicant_organization = credit_code()
        self.organizing_unit_id = f"OU-{uuid.uuid4().hex[:6]}"
        self.recommending_unit_id = f"RU-{uuid.uuid4().hex[:6]}"
        self.organizing_credit_code = credit_code()
        self.recommending_credit_code = credit_code()
        self.name = "国家技术标准创新基地（江苏）"
        self.plan_version = 0
        self.number: str | None = None

    # --- intake ----------------------------------------------------------------------

    def units_registered(self) -> None:
        for unit_id, code, role, kind in (
                (self.organizing_unit_id, self.organizing_credit_code, "organizing",
                 "local_standardization_authority"),
                (self.recommending_unit_id, self.recommending_credit_code, "recommending", "local_government")):
            intake.publish("UnitRegistered", {
                "unit_id": unit_id, "name": f"{unit_id} 单位", "role": role, "kind": kind, "credit_code": code,
                "region": "320000", "domain": None, "contact": None, "address": None, "postcode": None})

    def submitted(self, kind: str = "initial", answers: str | None = None, sections=None,
                  qualifications: int | None = None, evidence=True) -> dict:
        self.plan_version += 1
        count = QUALIFICATIONS[self.base_type] if qualifications is None else qualifications
        return intake.publish("ApplicationSubmitted", {
            "application_id": self.application_id, "applicant_id": "applicant-user",
            "applicant_organization": self.applicant_organization, "applicant_name": "江苏省标准化研究院",
            "base_type": self.base_type, "name": self.name, "region": self.region, "domain": self.domain,
            "organizing_unit_id": self.organizing_unit_id, "recommending_unit_id": self.recommending_unit_id,
            "plan_version": self.plan_version, "digest": f"{self.plan_version:064d}",
            "receipt_number": f"SB20260601-{self.plan_version}", "submitted_at": clock.now().isoformat(),
            "submission_kind": kind, "answers_request": answers,
            "changed_sections": list(SECTIONS) if sections is None else sections,
            "qualification_items": [{"item": n, "declared": True, "evidence": EVIDENCE if evidence else []}
                                    for n in range(1, count + 1)],
            "attachments": EVIDENCE, "late_exception": None})

    def withdrawn(self, reason: str = "merged with a partner's application") -> dict:
        return intake.publish("ApplicationWithdrawn", {"application_id": self.application_id, "reason": reason,
                                                       "withdrawn_at": clock.now().isoformat()})

    # --- endorsement ---------------------------------------------------------------------

    def recommended(self) -> dict:
        return endorsement.publish("ApplicationRecommended", {
            "application_id": self.application_id, "plan_version": self.plan_version,
            "digest": f"{self.plan_version:064d}", "name": self.name, "base_type": self.base_type,
            "region": self.region, "domain": self.domain, "applicant_organization": self.applicant_organization,
            "applicant_name": "江苏省标准化研究院", "organizing_unit_id": self.organizing_unit_id,
            "recommending_unit_id": self.recommending_unit_id, "year": 2026,
            "quota_slot": f"{self.recommending_unit_id}/2026/{self.base_type}/{self.region or self.domain}",
            "opinion": {"text": "同意推荐", "head": "张三", "date": "2026-06-01"},
            "stamped_plan_scan": SCAN, "recommendation_letter": LETTER,
            "recommended_at": clock.now().isoformat()})

    def recommendation_withdrawn(self) -> dict:
        return endorsement.publish("RecommendationWithdrawn", {
            "application_id": self.application_id, "recommending_unit_id": self.recommending_unit_id,
            "quota_slot": "slot", "reason": "the recommending unit reconsidered"})

    # --- formal review (for expert review tests that skip it) ------------------------------

    def formal_review_passed(self, number: str | None = None) -> dict:
        self.number = number or f"CXJD-2026-{uuid.uuid4().hex[:6].upper()}"
        return formal_review.publish("FormalReviewPassed", {
            "application_id": self.application_id, "number": self.number, "plan_version": max(self.plan_version, 1),
            "name": self.name, "base_type": self.base_type, "region": self.region, "domain": self.domain,
            "applicant_organization": self.applicant_organization, "applicant_name": "江苏省标准化研究院",
            "organizing_unit_id": self.organizing_unit_id, "recommending_unit_id": self.recommending_unit_id})

    # --- tokens --------------------------------------------------------------------------

    def applicant(self) -> str:
        return token("applicant", org=self.applicant_organization)

    def organizing_unit(self) -> str:
        return token("organizing_unit", org=self.organizing_unit_id)


def officer() -> str:
    return token("officer", org="SAC")


def expert_token(expert_id: str) -> str:
    return token("expert", party=expert_id, org="expert-org")


def register(expert_id: str | None = None, organization: str | None = None, name: str | None = None,
             conflicts=()) -> str:
    """An expert in the register, registered by an officer; returns the expert id."""
    expert_id = expert_id or f"expert-{uuid.uuid4().hex[:8]}"
    with rpc(officer()) as services:
        services.expert_review.register_expert(
            expert_id=expert_id, name=name or f"专家{expert_id[-4:]}", organization=organization or credit_code(),
            organization_name="清华大学", region="110000", fields=["EQ.07", "EI.01"],
            email=f"{expert_id}@example.cn", phone="010-12345678", conflicts=list(conflicts))
    return expert_id


def opinion(application: Application, expert_id: str, recommendation: str = "pass", score: int = 80) -> dict:
    judgements = {d: {"score": score, "text": f"{d}：论证充分"} for d in DIMENSIONS}
    with rpc(expert_token(expert_id)) as services:
        return services.expert_review.submit_opinion(application_id=application.application_id,
                                                     recommendation=recommendation, summary="同意", **judgements)


def log_position(service: str) -> int:
    table = {"formal_review": "formalreview_events", "expert_review": "expertreview_events"}[service]
    return sql(service, f"SELECT coalesce(max(id), 0) FROM {table}")[0][0]


def topics(service: str, application_id: str) -> list[str]:
    """The names of the published-or-not domain events of one application, in log order."""
    table = {"formal_review": "formalreview_events", "expert_review": "expertreview_events"}[service]
    rows = sql(service, f"SELECT topic, state FROM {table} ORDER BY id")
    names = []
    for topic, state in rows:
        if application_id.encode() in bytes(state):
            names.append(topic.rsplit(".", 1)[-1])
    return names


def count_of(service: str, event_name: str, application_id: str) -> int:
    return topics(service, application_id).count(event_name)


def after_days(days: float, start: str = TEST_START):
    from datetime import datetime

    return datetime.fromisoformat(start) + timedelta(days=days)


def pdf_base64() -> str:
    return base64.b64encode(PDF).decode("ascii")


def wait_for_case(application_id: str, state: str | None = None, timeout: float = 30) -> dict:
    def current():
        with rpc(officer()) as services:
            try:
                case = services.formal_review.get_case(application_id=application_id)
            except Exception:
                return None
        return case if state is None or case["state"] == state else None

    return eventually(current, timeout=timeout)


def wait_for_review(application_id: str, state: str | None = None, timeout: float = 30) -> dict:
    def current():
        with rpc(officer()) as services:
            try:
                review = services.expert_review.get_review(application_id=application_id)
            except Exception:
                return None
        return review if state is None or review["state"] == state else None

    return eventually(current, timeout=timeout)
