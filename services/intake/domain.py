"""Intake's domain: the applicant units (申报单位) and the register of organizing
(申报组织单位) and recommending (推荐单位) units, and each application (申报) with its
plan (申报方案), from the first draft through submissions, reopened sections and
resubmissions to withdrawal.

Rules of the guide live here as named functions; aggregates that must be unique
take their id from uuid5 of their business key, so the log refuses a twin.
"""
from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any, Callable

from eventsourcing.domain import Aggregate, event

from shared.clock import BEIJING
from shared.contracts import SECTIONS
from shared.rules import UNIT_KINDS_BY_BASE_TYPE, in_submission_window
from services.intake.errors import (
    ApplicationClosed,
    PlanIncomplete,
    SectionClosed,
    SubmissionWindowClosed,
    UnitPairNotAllowed,
)
from shared.errors import RuleViolation
from services.intake import plan

BASE_TYPES = ("regional", "domain", "international")
BASE_NAME = re.compile(r"^国家技术标准创新基地（[^（）]{1,60}）$")
DRAFT_NAMESPACE = uuid.UUID("0c8f1f5e-4d4b-4a57-8d0e-3a5f4c2b1a90")
APPLICANT_NAMESPACE = uuid.UUID("3b6f2a1c-7e0d-5c4b-9a8f-2d1e0c9b8a71")
OVERRIDE_NAMESPACE = uuid.UUID("b2d4c6e8-1a3f-5b7d-8c9e-0f2a4b6c8d13")
UNIT_NAMESPACE = uuid.UUID("e7c1a9b3-5d2f-5e8a-b4c6-9f0d2e4a6b85")

# --- the parties -----------------------------------------------------------------

APPLICANT_CATEGORIES = {
    "standardization_institute": "标准化研究机构",
    "research_institute": "科研院所",
    "enterprise": "企业",
    "university": "高等院校",
    "public_institution": "事业单位",
    "social_organization": "社会团体",
    "other": "其他",
}
UNIT_KIND_NAMES = {
    "local_standardization_authority": "地方标准化主管部门",
    "industry_department_standardization_body": "行业部门标准化主管机构",
    "industry_department": "行业部门",
    "industry_association": "行业协会",
    "local_government": "地方政府",
}
KINDS_BY_ROLE = {
    "organizing": ("local_standardization_authority", "industry_department_standardization_body",
                   "industry_association"),
    "recommending": ("local_government", "industry_department", "industry_association"),
}
# Local bodies govern a region; industry bodies cover a domain of the catalogue.
REGIONAL_KINDS = ("local_standardization_authority", "local_government")

# Guide §二(一): who may organize and recommend each base type (shared.rules).
ALLOWED_KINDS = UNIT_KINDS_BY_BASE_TYPE


def applicant_id_of(credit_code: str) -> uuid.UUID:
    return uuid.uuid5(APPLICANT_NAMESPACE, credit_code)


def override_id_of(credit_code: str) -> uuid.UUID:
    return uuid.uuid5(OVERRIDE_NAMESPACE, credit_code)


def unit_aggregate_id(role: str, unit_id: str) -> uuid.UUID:
    """A body may hold both roles (an industry association), so the role is part of the key."""
    return uuid.uuid5(UNIT_NAMESPACE, f"{role}:{unit_id}")


def draft_id(applicant_organization: str, request_id: str) -> uuid.UUID:
    """One draft per (applicant unit, request): a command that runs twice creates nothing new."""
    return uuid.uuid5(DRAFT_NAMESPACE, f"{applicant_organization}:{request_id}")


def name_reads_as_a_base(name: str) -> bool:
    """The guide: the name reads 国家技术标准创新基地（×××）."""
    return isinstance(name, str) and bool(BASE_NAME.match(name))


def check_unit_pair(base_type: str, organizing_kind: str, recommending_kind: str) -> None:
    """Guide §二(一): a regional base is organized by the local standardization authority and
    recommended by the local government; domain and international bases by an industry
    department's standardization body, an industry association or a local authority, and
    recommended by an industry department, an industry association or a local government."""
    allowed = ALLOWED_KINDS[base_type]
    for role, kind in (("organizing", organizing_kind), ("recommending", recommending_kind)):
        if kind not in allowed[role]:
            raise UnitPairNotAllowed.of(
                f"{role}_unit_kind",
                f"a {base_type} base cannot have a {kind.replace('_', ' ')} as {role} unit; "
                f"allowed: {', '.join(allowed[role])}",
                field=f"{role}_unit_id", base_type=base_type, kind=kind, allowed=list(allowed[role]),
            )


class ApplicantUnit(Aggregate):
    """An applicant unit (申报单位), identified by its unified social credit code."""

    class ApplicantRegistered(Aggregate.Created):
        credit_code: str
        name: str
        category: str
        region: str
        region_known: bool
        head: dict
        contact: dict
        postcode: str
        address: str
        credit_code_override: str | None
        actor: dict

    def __init__(self, credit_code: str, name: str, category: str, region: str, region_known: bool,
                 head: dict, contact: dict, postcode: str, address: str, credit_code_override: str | None,
                 actor: dict):
        self.credit_code = credit_code
        self.name = name
        self.category = category
        self.region = region
        self.region_known = region_known
        self.head = head
        self.contact = contact
        self.postcode = postcode
        self.address = address
        self.credit_code_override = credit_code_override
        self.registered_by = actor["party_id"]

    @classmethod
    def register(cls, *, credit_code: str, actor: dict, **details) -> "ApplicantUnit":
        return cls._create(cls.ApplicantRegistered, id=applicant_id_of(credit_code), credit_code=credit_code,
                           actor=actor, **details)

    def as_dict(self) -> dict:
        return {
            "unit_id": self.credit_code, "credit_code": self.credit_code, "name": self.name,
            "category": self.category, "region": self.region, "region_known": self.region_known,
            "head": self.head, "contact": self.contact, "postcode": self.postcode, "address": self.address,
            "credit_code_override": self.credit_code_override, "registered_by": self.registered_by,
        }


class CreditCodeOverride(Aggregate):
    """An SAC officer's recorded decision to accept a credit code that fails a check."""

    class OverrideGranted(Aggregate.Created):
        credit_code: str
        reason: str
        problems: list
        actor: dict

    def __init__(self, credit_code: str, reason: str, problems: list, actor: dict):
        self.credit_code = credit_code
        self.reason = reason
        self.problems = problems
        self.granted_by = actor["party_id"]

    @classmethod
    def grant(cls, *, credit_code: str, reason: str, problems: list, actor: dict) -> "CreditCodeOverride":
        return cls._create(cls.OverrideGranted, id=override_id_of(credit_code), credit_code=credit_code,
                           reason=reason, problems=problems, actor=actor)


class Unit(Aggregate):
    """An organizing or recommending unit in the SAC officer's register."""

    class UnitRegistered(Aggregate.Created):
        unit_id: str
        name: str
        role: str
        kind: str
        region: str | None
        domain: str | None
        credit_code: str | None
        contact: dict | None
        address: str | None
        postcode: str | None
        actor: dict

    def __init__(self, unit_id: str, name: str, role: str, kind: str, region: str | None, domain: str | None,
                 credit_code: str | None, contact: dict | None, address: str | None, postcode: str | None,
                 actor: dict):
        self.unit_id = unit_id
        self.name = name
        self.role = role
        self.kind = kind
        self.region = region
        self.domain = domain
        self.credit_code = credit_code
        self.contact = contact
        self.address = address
        self.postcode = postcode

    @classmethod
    def register(cls, *, unit_id: str, role: str, kind: str, region: str | None, domain: str | None,
                 actor: dict, **details) -> "Unit":
        if kind not in KINDS_BY_ROLE[role]:
            raise RuleViolation.of("unit_kind", f"a {kind.replace('_', ' ')} cannot be a {role} unit",
                                   field="kind", allowed=list(KINDS_BY_ROLE[role]))
        if kind in REGIONAL_KINDS and not region:
            raise RuleViolation.of("unit_region", "a local body needs the region it governs", field="region")
        if kind not in REGIONAL_KINDS and not domain:
            raise RuleViolation.of("unit_domain", "an industry body needs the domain it covers", field="domain")
        return cls._create(cls.UnitRegistered, id=unit_aggregate_id(role, unit_id), unit_id=unit_id, role=role,
                           kind=kind, region=region if kind in REGIONAL_KINDS else None,
                           domain=domain if kind not in REGIONAL_KINDS else None, actor=actor, **details)

    def as_dict(self) -> dict:
        return {
            "unit_id": self.unit_id, "name": self.name, "role": self.role, "kind": self.kind,
            "region": self.region, "domain": self.domain, "credit_code": self.credit_code,
            "contact": self.contact, "address": self.address, "postcode": self.postcode,
        }


# --- the application --------------------------------------------------------------

DRAFT = "draft"
SUBMITTED = "submitted"            # with the organizing unit (审核盖章)
RETURNED = "returned"              # the organizing unit returned it: reopened sections
SUPPLEMENT_REQUESTED = "supplement_requested"
REVISION_REQUESTED = "revision_requested"
FORWARDED = "forwarded"            # with the recommending unit (审核推荐)
RECOMMENDED = "recommended"        # awaiting formal review
FORMAL_REVIEW = "formal_review"    # accepted by SAC, numbered (形式审查)
EXPERT_REVIEW = "expert_review"    # 专家论证
PANEL_CONCLUDED = "panel_concluded"
APPROVED = "approved"              # 批准筹建
NOT_RECOMMENDED = "not_recommended"
INADMISSIBLE = "inadmissible"
DECLINED = "declined"
WITHDRAWN = "withdrawn"

STAGES = (DRAFT, SUBMITTED, RETURNED, SUPPLEMENT_REQUESTED, REVISION_REQUESTED, FORWARDED, RECOMMENDED,
          FORMAL_REVIEW, EXPERT_REVIEW, PANEL_CONCLUDED, APPROVED, NOT_RECOMMENDED, INADMISSIBLE, DECLINED,
          WITHDRAWN)
# Stages after which nothing the applicant does changes the outcome.
CLOSED_STAGES = (APPROVED, NOT_RECOMMENDED, INADMISSIBLE, DECLINED, WITHDRAWN)
# Which request reopens sections, the stage it puts the application in, and where the answer goes.
REQUESTS = {
    "returned": (RETURNED, SUBMITTED),
    "supplement": (SUPPLEMENT_REQUESTED, FORMAL_REVIEW),
    "revision": (REVISION_REQUESTED, EXPERT_REVIEW),
}


class Application(Aggregate):
    """An applicant unit's application (申报) for one innovation base, with its plan."""

    # Its events replace what its dicts and lists hold (a section's content, a file) or add to
    # them (a version), never change a held value in place: the cache's copy for a command shares
    # those values (`shared.freshness.copy_of`; tests check).
    copied_one_level = True

    class Drafted(Aggregate.Created):
        applicant_id: str
        applicant_organization: str
        base_type: str
        name: str
        organizing_unit_id: str
        recommending_unit_id: str
        basic: dict
        actor: dict

    def __init__(self, applicant_id: str, applicant_organization: str, base_type: str, name: str,
                 organizing_unit_id: str, recommending_unit_id: str, basic: dict, actor: dict):
        self.applicant_id = applicant_id
        self.applicant_organization = applicant_organization
        self.base_type = base_type
        self.name = name
        self.organizing_unit_id = organizing_unit_id
        self.recommending_unit_id = recommending_unit_id
        self.sections: dict[str, Any] = {section: None for section in SECTIONS}
        self.sections["basic"] = basic
        self.files: dict[str, dict] = {}  # sha256 -> attachment, as uploaded
        self.stage = DRAFT
        self.open_sections: list[str] = list(SECTIONS)
        self.request: dict | None = None  # the open request the next submission answers
        self.versions: list[dict] = []
        self.late_exception: str | None = None
        self.number: str | None = None  # 编号, once SAC accepted the application
        self.deadline: datetime | None = None
        self.deadline_kind: str | None = None
        self.organizing_opinion: dict | None = None
        self.conclusion: str | None = None
        self.withdrawal_reason: str | None = None

    @classmethod
    def draft(cls, *, application_id: uuid.UUID, applicant_id: str, applicant_organization: str,
              base_type: str, basic: dict, actor: dict) -> "Application":
        if base_type not in BASE_TYPES:
            raise RuleViolation.of("base_type", f"unknown base type {base_type!r}", field="base_type")
        require_base_name(basic["name"])
        return cls._create(
            cls.Drafted, id=application_id, applicant_id=applicant_id,
            applicant_organization=applicant_organization, base_type=base_type, name=basic["name"],
            organizing_unit_id=basic["organizing_unit_id"], recommending_unit_id=basic["recommending_unit_id"],
            basic=basic, actor=actor,
        )

    # --- what the application is now ------------------------------------------------

    @property
    def is_closed(self) -> bool:
        return self.stage in CLOSED_STAGES

    @property
    def plan_version(self) -> int:
        return len(self.versions)

    @property
    def latest_version(self) -> dict | None:
        return self.versions[-1] if self.versions else None

    @property
    def region(self) -> str | None:
        return (self.sections["basic"] or {}).get("region")

    @property
    def domain(self) -> str | None:
        return (self.sections["basic"] or {}).get("domain")

    def version_of(self, number: int) -> dict | None:
        return self.versions[number - 1] if 1 <= number <= len(self.versions) else None

    def require_open(self) -> None:
        if self.is_closed:
            raise ApplicationClosed.of("application_closed", f"the application is {self.stage}; nothing can change",
                                       stage=self.stage)

    # --- the applicant writes ---------------------------------------------------------

    def save_section(self, section: str, content: dict, actor: dict) -> None:
        self.require_open()
        if section not in self.open_sections:
            raise SectionClosed.of(
                "section_closed", f"section {section} is not open for changes", field="section",
                section=section, open_sections=list(self.open_sections),
            )
        if section == "basic":
            require_base_name(content["name"])
        self._section_saved(section=section, content=content, actor=actor)

    @event("SectionSaved")
    def _section_saved(self, section: str, content: dict, actor: dict) -> None:
        self.sections[section] = content
        if section == "basic":
            self.name = content["name"]
            self.organizing_unit_id = content["organizing_unit_id"]
            self.recommending_unit_id = content["recommending_unit_id"]

    def attach(self, attachment: dict, actor: dict) -> bool:
        """Record an uploaded file; the same bytes uploaded again are the file already here."""
        self.require_open()
        if not self.open_sections:
            raise SectionClosed.of("section_closed", "no section is open, so no file can be added",
                                   field="application_id", open_sections=[])
        if attachment["sha256"] in self.files:
            return False
        self._attachment_uploaded(attachment=attachment, actor=actor)
        return True

    @event("AttachmentUploaded")
    def _attachment_uploaded(self, attachment: dict, actor: dict) -> None:
        self.files[attachment["sha256"]] = attachment

    # --- submission ---------------------------------------------------------------------

    def grant_late_submission(self, reason: str, actor: dict) -> None:
        self.require_open()
        if self.versions:
            raise RuleViolation.of("already_submitted", "the application was submitted already; "
                                   "answers to later requests need no exception", field="application_id")
        self._late_submission_granted(reason=reason, actor=actor)

    @event("LateSubmissionGranted")
    def _late_submission_granted(self, reason: str, actor: dict) -> None:
        self.late_exception = reason

    def submit(self, *, at: datetime, frozen: dict, found: list, receipt_number: Callable[[], str],
               actor: dict) -> None:
        """Freeze the plan as a new version. The first submission must fall in the window
        (or have the officer's exception); an answer to a request is accepted any day."""
        self.require_open()
        if not self.open_sections:
            raise RuleViolation.of("already_submitted", "this version is already submitted and no section "
                                   "is reopened", field="application_id", plan_version=self.plan_version)
        initial = not self.versions
        if initial and not in_submission_window(at) and self.late_exception is None:
            raise SubmissionWindowClosed.of(
                "submission_window", "submissions are accepted from 5 May to 30 July (Beijing time); "
                f"it is {at.astimezone(BEIJING):%Y-%m-%d %H:%M} in Beijing", field="application_id",
                at=at.isoformat(),
            )
        if found:
            raise PlanIncomplete.of(
                "plan_complete", f"the plan has {len(found)} missing or invalid item(s)",
                field="application_id", problems=plan.by_section(found),
            )
        previous = self.latest_version["plan"] if self.versions else None
        self._submitted(
            plan_version=self.plan_version + 1, digest=plan.digest(frozen), receipt_number=receipt_number(),
            plan=frozen, submission_kind="initial" if initial else self.request["kind"],
            answers_request=None if initial else self.request["request_id"],
            changed_sections=plan.changed_sections(previous, frozen),
            late_exception=self.late_exception if initial else None, submitted_at=at,
            stage=SUBMITTED if initial else REQUESTS[self.request["kind"]][1], actor=actor,
        )

    @event("Submitted")
    def _submitted(self, plan_version: int, digest: str, receipt_number: str, plan: dict, submission_kind: str,
                   answers_request: str | None, changed_sections: list, late_exception: str | None,
                   submitted_at: datetime, stage: str, actor: dict) -> None:
        self.versions.append({
            "plan_version": plan_version, "digest": digest, "receipt_number": receipt_number,
            "submission_kind": submission_kind, "answers_request": answers_request,
            "changed_sections": changed_sections, "late_exception": late_exception,
            "submitted_at": submitted_at, "plan": plan,
        })
        self.stage = stage
        self.open_sections = []
        self.request = None
        self.deadline = self.deadline_kind = None

    # --- later stages -----------------------------------------------------------------

    def reopen(self, *, kind: str, sections: list[str], reason: str, request_id: str, requested_by: str,
               deadline: datetime | None, caused_by: dict) -> bool:
        """A later stage asks for changes: the named sections reopen until the next submission.

        A request for a closed application, or one never submitted, changes nothing. A second
        request before the answer widens the first: one resubmission answers the latest.
        """
        if self.is_closed or not self.versions:
            return False
        self._sections_reopened(
            kind=kind, sections=[s for s in SECTIONS if s in sections], reason=reason, request_id=request_id,
            requested_by=requested_by, deadline=deadline, stage=REQUESTS[kind][0],
            open_sections=[s for s in SECTIONS if s in sections or s in self.open_sections], caused_by=caused_by,
        )
        return True

    @event("SectionsReopened")
    def _sections_reopened(self, kind: str, sections: list, reason: str, request_id: str, requested_by: str,
                           deadline: datetime | None, stage: str, open_sections: list, caused_by: dict) -> None:
        self.open_sections = open_sections
        self.request = {"kind": kind, "request_id": request_id, "reason": reason, "requested_by": requested_by,
                        "sections": sections, "deadline": deadline}
        self.stage = stage
        self.deadline = deadline
        self.deadline_kind = kind if deadline else None

    def record_progress(self, *, reported: str, stage: str, caused_by: dict, number: str | None = None,
                        deadline: datetime | None = None, deadline_kind: str | None = None,
                        opinion: dict | None = None, conclusion: str | None = None) -> bool:
        """What a later stage decided (`reported`, the upstream event), for the applicant's overview.

        A decision that ends the application closes any reopened section; otherwise sections
        reopened for an answer stay open, and the stage shows the open request until answered.
        """
        if self.is_closed or not self.versions:
            return False
        ends = stage in CLOSED_STAGES
        if not ends and self.open_sections:
            stage = self.stage
        if deadline_kind is None and not ends:
            deadline, deadline_kind = self.deadline, self.deadline_kind
        self._progressed(reported=reported, stage=stage, number=number or self.number, deadline=deadline,
                         deadline_kind=deadline_kind, opinion=opinion, conclusion=conclusion,
                         open_sections=[] if ends else list(self.open_sections), caused_by=caused_by)
        return True

    # --- experts assigned in expert review read the submitted plan -----------------------

    @property
    def assigned_experts(self) -> list[str]:
        return getattr(self, "_assigned_experts", [])

    def grant_expert_access(self, expert_id: str, caused_by: dict) -> bool:
        """An expert assigned to judge the application (expert review) may read its submitted versions."""
        if expert_id in self.assigned_experts:
            return False
        self._expert_access_granted(expert_id=expert_id, caused_by=caused_by)
        return True

    @event("ExpertAccessGranted")
    def _expert_access_granted(self, expert_id: str, caused_by: dict) -> None:
        self._assigned_experts = [*self.assigned_experts, expert_id]

    def revoke_expert_access(self, expert_id: str, caused_by: dict) -> bool:
        """An expert who declined the assignment no longer reads the plan."""
        if expert_id not in self.assigned_experts:
            return False
        self._expert_access_revoked(expert_id=expert_id, caused_by=caused_by)
        return True

    @event("ExpertAccessRevoked")
    def _expert_access_revoked(self, expert_id: str, caused_by: dict) -> None:
        self._assigned_experts = [e for e in self.assigned_experts if e != expert_id]

    @event("ProgressRecorded")
    def _progressed(self, reported: str, stage: str, number: str | None, deadline: datetime | None,
                    deadline_kind: str | None, opinion: dict | None, conclusion: str | None, open_sections: list,
                    caused_by: dict) -> None:
        self.stage = stage
        self.number = number
        self.deadline, self.deadline_kind = deadline, deadline_kind
        self.organizing_opinion = opinion or self.organizing_opinion
        self.conclusion = conclusion or self.conclusion
        self.open_sections = open_sections
        if not open_sections:
            self.request = None

    def extend_deadline(self, *, request_id: str, deadline: datetime, caused_by: dict) -> bool:
        if self.request is None or self.request["request_id"] != request_id:
            return False
        self._deadline_extended(request_id=request_id, deadline=deadline, caused_by=caused_by)
        return True

    @event("DeadlineExtended")
    def _deadline_extended(self, request_id: str, deadline: datetime, caused_by: dict) -> None:
        self.request = {**self.request, "deadline": deadline}
        self.deadline = deadline

    # --- withdrawal ---------------------------------------------------------------------

    def withdraw(self, reason: str, actor: dict) -> None:
        """Guide: an applicant may withdraw before approval, giving its reason."""
        self.require_open()
        self._withdrawn(reason=reason, actor=actor)

    @event("Withdrawn")
    def _withdrawn(self, reason: str, actor: dict) -> None:
        self.stage = WITHDRAWN
        self.withdrawal_reason = reason
        self.open_sections = []
        self.request = None
        self.deadline = self.deadline_kind = None


def require_base_name(name: str) -> None:
    if not name_reads_as_a_base(name):
        raise RuleViolation.of("base_name", "the name must read 国家技术标准创新基地（×××）", field="name")
