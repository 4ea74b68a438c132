"""Intake's domain: an applicant's application (申报) and its plan, from draft to submission.

The full plan of 附件2 grows here issue by issue; the first hop needs the base
type, the name and the two units the applicant chose.
"""
from __future__ import annotations

import hashlib
import json
import re
import uuid
from typing import Any

from eventsourcing.domain import Aggregate, event

from shared.errors import RuleViolation

BASE_TYPES = ("regional", "domain", "international")
BASE_NAME = re.compile(r"^国家技术标准创新基地（[^（）]{1,60}）$")
DRAFT_NAMESPACE = uuid.UUID("0c8f1f5e-4d4b-4a57-8d0e-3a5f4c2b1a90")

DRAFT, SUBMITTED, WITHDRAWN = "draft", "submitted", "withdrawn"


def name_reads_as_a_base(name: str) -> bool:
    """The guide: the name reads 国家技术标准创新基地（×××）."""
    return bool(BASE_NAME.match(name))


def draft_id(applicant_id: str, request_id: str) -> uuid.UUID:
    """One draft per (applicant, request): a command that runs twice creates nothing new."""
    return uuid.uuid5(DRAFT_NAMESPACE, f"{applicant_id}:{request_id}")


class Application(Aggregate):
    """An applicant unit's application (申报) for one innovation base."""

    def __init__(
        self,
        applicant_id: str,
        applicant_organization: str,
        base_type: str,
        name: str,
        organizing_unit_id: str,
        recommending_unit_id: str,
        actor: dict,
    ):
        self.applicant_id = applicant_id
        self.applicant_organization = applicant_organization
        self.base_type = base_type
        self.name = name
        self.organizing_unit_id = organizing_unit_id
        self.recommending_unit_id = recommending_unit_id
        self.stage = DRAFT
        self.plan_version = 0
        self.versions: list[dict[str, Any]] = []
        self.withdrawal_reason: str | None = None

    @classmethod
    def draft(cls, *, application_id: uuid.UUID, applicant_id: str, applicant_organization: str,
              base_type: str, name: str, organizing_unit_id: str, recommending_unit_id: str,
              actor: dict) -> "Application":
        if base_type not in BASE_TYPES:
            raise RuleViolation.of("base_type", f"unknown base type {base_type!r}", field="base_type")
        if not name_reads_as_a_base(name):
            raise RuleViolation.of(
                "base_name", "the name must read 国家技术标准创新基地（×××）", field="name"
            )
        return cls._create(
            cls.Drafted,
            id=application_id,
            applicant_id=applicant_id,
            applicant_organization=applicant_organization,
            base_type=base_type,
            name=name,
            organizing_unit_id=organizing_unit_id,
            recommending_unit_id=recommending_unit_id,
            actor=actor,
        )

    class Drafted(Aggregate.Created):
        applicant_id: str
        applicant_organization: str
        base_type: str
        name: str
        organizing_unit_id: str
        recommending_unit_id: str
        actor: dict

    # --- the plan's content ---------------------------------------------------

    def content(self) -> dict[str, Any]:
        return {
            "base_type": self.base_type,
            "name": self.name,
            "organizing_unit_id": self.organizing_unit_id,
            "recommending_unit_id": self.recommending_unit_id,
        }

    def digest(self) -> str:
        canonical = json.dumps(self.content(), ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    # --- commands -------------------------------------------------------------

    def submit(self, actor: dict, at_date: str) -> None:
        if self.stage == WITHDRAWN:
            raise RuleViolation.of("withdrawn", "a withdrawn application cannot be submitted")
        if self.stage == SUBMITTED:
            raise RuleViolation.of("already_submitted", "this version is already submitted",
                                   plan_version=self.plan_version)
        version = self.plan_version + 1
        digest = self.digest()
        receipt = f"SB{at_date}-{digest[:8].upper()}-{version}"
        self._submitted(plan_version=version, digest=digest, receipt_number=receipt,
                        content=self.content(), actor=actor)

    @event("Submitted")
    def _submitted(self, plan_version: int, digest: str, receipt_number: str, content: dict, actor: dict) -> None:
        self.stage = SUBMITTED
        self.plan_version = plan_version
        self.versions.append({
            "plan_version": plan_version, "digest": digest, "receipt_number": receipt_number,
            "content": content,
        })

    def withdraw(self, actor: dict, reason: str) -> None:
        if self.stage == WITHDRAWN:
            raise RuleViolation.of("withdrawn", "the application is already withdrawn")
        self._withdrawn(reason=reason, actor=actor)

    @event("Withdrawn")
    def _withdrawn(self, reason: str, actor: dict) -> None:
        self.stage = WITHDRAWN
        self.withdrawal_reason = reason

    @property
    def latest_version(self) -> dict[str, Any] | None:
        return self.versions[-1] if self.versions else None
