"""Formal review's domain (形式审查, guide §三(四)): the case SAC opens for a recommended
application, its official number (编号), its completeness checklist, supplement
requests, and the decision to pass it into expert review or find it inadmissible.
"""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime

from eventsourcing.domain import Aggregate, event

from shared.contracts.review import INFORMED_DECISIONS
from services.review.errors import (
    AlreadyAccepted,
    AlreadyInformed,
    ChecklistIncomplete,
    RequestNotFound,
    UnknownChecklistItem,
    WrongStage,
)
from services.review.common import extend_request

CASE_NAMESPACE = uuid.UUID("7a4e2d0c-5b8f-4c3a-9e61-0d2f8b7c4a15")
SEQUENCE_NAMESPACE = uuid.UUID("c1d9e8f7-2a3b-4c5d-8e9f-a0b1c2d3e4f5")
PLAN_NAMESPACE = uuid.UUID("e5b7c3a1-9d2f-4e8a-b6c4-1f3a5d7e9b20")

RECEIVED = "received"                        # recommended, not yet accepted by SAC
UNDER_REVIEW = "under_review"                # accepted and numbered; the officer checks it
AWAITING_SUPPLEMENT = "awaiting_supplement"  # 补充材料 requested, deadline running
SUPPLEMENT_OVERDUE = "supplement_overdue"    # the deadline passed: the officer rejects or extends
PASSED = "passed"                            # 形式审查合格: into expert review
FOUND_INADMISSIBLE = "found_inadmissible"    # rejected with reasons
CLOSED = "closed"                            # recommendation or application withdrawn
STATES = (RECEIVED, UNDER_REVIEW, AWAITING_SUPPLEMENT, SUPPLEMENT_OVERDUE, PASSED, FOUND_INADMISSIBLE, CLOSED)
OPEN_STATES = (RECEIVED, UNDER_REVIEW, AWAITING_SUPPLEMENT, SUPPLEMENT_OVERDUE)

# The official number: 创新基地 (CXJD), the application year, the base type, a serial.
TYPE_CODES = {"regional": "QY", "domain": "LY", "international": "GJ"}  # 区域 / 领域 / 国际
DECISIONS = INFORMED_DECISIONS  # the decisions an applicant is informed of: found inadmissible, passed
FINDINGS = ("ok", "deficient")
INFORMED_BY = ("letter", "email", "portal", "phone")


def case_id(application_id) -> uuid.UUID:
    """One formal review case per application, reopened if it is recommended again."""
    return uuid.uuid5(CASE_NAMESPACE, str(application_id))


def sequence_id(year: int, base_type: str) -> uuid.UUID:
    return uuid.uuid5(SEQUENCE_NAMESPACE, f"{year}:{base_type}")


def plan_version_id(application_id, plan_version: int) -> uuid.UUID:
    return uuid.uuid5(PLAN_NAMESPACE, f"{application_id}:{plan_version}")


def official_number(year: int, base_type: str, serial: int) -> str:
    """E.g. CXJD-2026-QY-001; the serial grows past 999 without changing the form."""
    return f"CXJD-{year}-{TYPE_CODES[base_type]}-{serial:03d}"


# --- the completeness checklist ----------------------------------------------------

# The sections of 附件2 that must have content. "qualifications" and "attachments"
# are checked item by item below rather than as sections.
PLAN_SECTIONS = {
    "basic": "一、基本信息",
    "significance": "二、意义和必要性",
    "feasibility": "三、可行性",
    "goals": "四、目标和任务",
    "safeguards": "五、保障措施",
    "applicant_opinion": "七、申报意见（申报单位）",
}
# Guide §二(二): the qualification items of each base type; the last one is
# "other favourable conditions" (其他有利条件), which an applicant may leave undeclared.
QUALIFICATION_COUNTS = {"regional": 6, "domain": 5, "international": 5}
SCANS = {
    "stamped_plan_scan": "盖章后的《申报方案》扫描件",
    "recommendation_letter": "正式推荐函扫描件",
}
PRESENT, MISSING, DEFICIENT, NOT_DECLARED = "present", "missing", "deficient", "not_declared"


@dataclass(frozen=True)
class ChecklistItem:
    key: str
    section: str  # the plan section a supplement for this item reopens
    label: str
    required: bool = True


def checklist_of(base_type: str) -> list[ChecklistItem]:
    items = [ChecklistItem(f"section:{s}", s, label) for s, label in PLAN_SECTIONS.items()]
    count = QUALIFICATION_COUNTS[base_type]
    items += [ChecklistItem(f"qualification:{n}", "qualifications", f"资质条件第{n}项（附证明材料）",
                            required=n < count) for n in range(1, count + 1)]
    # A better scan arrives with a supplement as an attachment of the plan.
    items += [ChecklistItem(key, "attachments", label) for key, label in SCANS.items()]
    return items


def item_number(item) -> int | None:
    """The guide's number of a qualification item as intake names it: 3, "3", "regional-3", "q3"."""
    if isinstance(item, bool):
        return None
    if isinstance(item, int):
        return item
    match = re.search(r"(\d+)$", str(item))
    return int(match.group(1)) if match else None


def evaluate_checklist(base_type: str, versions: list[dict], scans: dict, findings: dict) -> list[dict]:
    """Each checklist item with its status, from the submitted versions (oldest first), the
    recommending unit's scans and the officer's findings.

    A section has content once any version changed it; the qualification items
    are those of the latest version that declared any; an officer's finding
    "deficient" overrides what the data says, and "ok" cannot make up for data
    that is missing.
    """
    sections = {s for version in versions for s in version.get("changed_sections") or []}
    declared: dict[int, dict] = {}
    for version in versions:
        if version.get("qualification_items"):
            declared = {}
            for entry in version["qualification_items"]:
                number = item_number(entry.get("item")) if isinstance(entry, dict) else None
                if number is not None:
                    declared[number] = entry
    result = []
    for item in checklist_of(base_type):
        detail = ""
        if item.key.startswith("section:"):
            status = PRESENT if item.section in sections else MISSING
        elif item.key.startswith("qualification:"):
            entry = declared.get(int(item.key.split(":")[1]))
            if entry is None or not entry.get("declared"):
                status = MISSING if item.required else NOT_DECLARED
                detail = "not declared"
            elif not entry.get("evidence"):
                status, detail = MISSING, "declared without evidence"
            else:
                status = PRESENT
        else:
            status = PRESENT if scans.get(item.key) else MISSING
        finding = findings.get(item.key)
        if finding and finding["finding"] == "deficient" and status != MISSING:
            status, detail = DEFICIENT, finding["note"]
        result.append({"item": item.key, "section": item.section, "label": item.label,
                       "required": item.required, "status": status, "detail": detail})
    return result


def incomplete_items(checklist: list[dict]) -> list[dict]:
    return [i for i in checklist if i["status"] in (MISSING, DEFICIENT)]


# --- aggregates --------------------------------------------------------------------

class NumberSequence(Aggregate):
    """The official numbers of one year and base type. Every accept appends to it, so two
    officers accepting at the same instant race on its version: one wins, the other
    retries with the next serial. Numbers are never reused, even after a rejection."""

    class Started(Aggregate.Created):
        year: int
        base_type: str

    def __init__(self, year: int, base_type: str):
        self.year = year
        self.base_type = base_type
        self.last_serial = 0

    @classmethod
    def start(cls, year: int, base_type: str) -> "NumberSequence":
        return cls._create(cls.Started, id=sequence_id(year, base_type), year=year, base_type=base_type)

    def issue(self, application_id, actor: dict) -> str:
        serial = self.last_serial + 1
        number = official_number(self.year, self.base_type, serial)
        self._issued(serial=serial, number=number, application_id=str(application_id), actor=actor)
        return number

    @event("NumberIssued")
    def _issued(self, serial: int, number: str, application_id: str, actor: dict) -> None:
        self.last_serial = serial


class PlanVersion(Aggregate):
    """What formal review knows of one submitted version of a plan (from intake's
    ApplicationSubmitted): the sections it changed, its qualification items with their
    evidence and its attachments — what the completeness checklist is computed from."""

    class Received(Aggregate.Created):
        application_id: str
        plan_version: int
        digest: str
        name: str
        submission_kind: str
        answers_request: str | None
        changed_sections: list
        qualification_items: list
        attachments: list
        submitted_at: str
        caused_by: dict

    def __init__(self, application_id, plan_version, digest, name, submission_kind, answers_request,
                 changed_sections, qualification_items, attachments, submitted_at, caused_by):
        self.application_id = application_id
        self.plan_version = plan_version
        self.digest = digest
        self.name = name
        self.submission_kind = submission_kind
        self.answers_request = answers_request
        self.changed_sections = changed_sections
        self.qualification_items = qualification_items
        self.attachments = attachments
        self.submitted_at = submitted_at

    @classmethod
    def receive(cls, *, caused_by: dict, **submission) -> "PlanVersion":
        return cls._create(cls.Received, id=plan_version_id(submission["application_id"], submission["plan_version"]),
                           caused_by=caused_by, **submission)


class Case(Aggregate):
    """A formal review case (形式审查): one recommended application on SAC's desk."""

    class Opened(Aggregate.Created):
        application_id: str
        plan_version: int
        digest: str
        name: str
        base_type: str
        region: str | None
        domain: str | None
        applicant_organization: str
        applicant_name: str
        organizing_unit_id: str
        recommending_unit_id: str
        year: int
        stamped_plan_scan: dict
        recommendation_letter: dict
        recommended_at: str
        caused_by: dict

    def __init__(self, application_id, plan_version, digest, name, base_type, region, domain,
                 applicant_organization, applicant_name, organizing_unit_id, recommending_unit_id, year,
                 stamped_plan_scan, recommendation_letter, recommended_at, caused_by):
        self._recommended(plan_version=plan_version, digest=digest, name=name, base_type=base_type,
                          region=region, domain=domain, applicant_organization=applicant_organization,
                          applicant_name=applicant_name, organizing_unit_id=organizing_unit_id,
                          recommending_unit_id=recommending_unit_id, year=year,
                          stamped_plan_scan=stamped_plan_scan, recommendation_letter=recommendation_letter,
                          recommended_at=recommended_at)
        self.application_id = application_id
        self.number: str | None = None
        self.findings: dict[str, dict] = {}
        self.requests: list[dict] = []
        self.reasons: list[str] = []
        self.informed: dict[str, dict] = {}
        self.closed_reason: str | None = None

    def _recommended(self, **recommendation) -> None:
        for key, value in recommendation.items():
            setattr(self, key, value)
        self.state = RECEIVED

    @classmethod
    def open(cls, *, caused_by: dict, **recommendation) -> "Case":
        return cls._create(cls.Opened, id=case_id(recommendation["application_id"]), caused_by=caused_by,
                           **recommendation)

    # --- rules ------------------------------------------------------------------

    def _require(self, *states: str, doing: str) -> None:
        if self.state not in states:
            raise WrongStage.of("stage", f"a case that is {self.state} cannot be {doing}",
                                state=self.state, allowed=list(states))

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    @property
    def open_request(self) -> dict | None:
        if self.state in (AWAITING_SUPPLEMENT, SUPPLEMENT_OVERDUE) and self.requests:
            return self.requests[-1]
        return None

    def request(self, request_id: str) -> dict:
        for request in self.requests:
            if request["request_id"] == request_id:
                return request
        raise RequestNotFound("no such supplement request on this application",
                              {"request_id": request_id, "application_id": self.application_id})

    def next_request_id(self) -> str:
        # Unique across cases and reopenings, and the same whichever instance computes it.
        return str(uuid.uuid5(self.id, f"supplement-{len(self.requests) + 1}"))

    # --- reopening ----------------------------------------------------------------

    def reopen(self, caused_by: dict, **recommendation) -> bool:
        """Recommended again after its recommendation was withdrawn; the number, if any, stays."""
        if self.state != CLOSED:
            return False
        self._reopened(caused_by=caused_by, recommendation=recommendation)
        return True

    @event("Reopened")
    def _reopened(self, caused_by: dict, recommendation: dict) -> None:
        self._recommended(**{k: v for k, v in recommendation.items() if k != "application_id"})
        self.closed_reason = None
        self.state = UNDER_REVIEW if self.number else RECEIVED

    # --- the officer's commands ------------------------------------------------------

    def check_acceptable(self) -> None:
        if self.number is not None:
            raise AlreadyAccepted.of("accept_once", f"the case was accepted as {self.number}", number=self.number)
        self._require(RECEIVED, doing="accepted")

    def accept(self, number: str, actor: dict) -> None:
        self.check_acceptable()
        self._accepted(application_id=self.application_id, number=number, year=self.year,
                       base_type=self.base_type, actor=actor)

    @event("Accepted")
    def _accepted(self, application_id: str, number: str, year: int, base_type: str, actor: dict) -> None:
        self.number = number
        self.state = UNDER_REVIEW

    def record_finding(self, item: str, finding: str, note: str, actor: dict) -> None:
        self._require(RECEIVED, UNDER_REVIEW, doing="checked")
        if item not in {i.key for i in checklist_of(self.base_type)}:
            raise UnknownChecklistItem.of("checklist_item", f"{item!r} is not on the {self.base_type} checklist",
                                          field="item", item=item)
        self._finding_recorded(application_id=self.application_id, item=item, finding=finding, note=note,
                               actor=actor)

    @event("FindingRecorded")
    def _finding_recorded(self, application_id: str, item: str, finding: str, note: str, actor: dict) -> None:
        self.findings[item] = {"finding": finding, "note": note}

    def sections_for(self, items: list[str], sections: list[str]) -> list[str]:
        by_key = {i.key: i for i in checklist_of(self.base_type)}
        unknown = [item for item in items if item not in by_key]
        if unknown:
            raise UnknownChecklistItem.of("checklist_item", f"not on the {self.base_type} checklist: {unknown}",
                                          field="items", items=unknown)
        return sorted(set(sections) | {by_key[item].section for item in items})

    def request_supplement(self, request_id: str, items: list[str], sections: list[str], reason: str,
                           deadline: datetime, actor: dict) -> None:
        self._require(UNDER_REVIEW, doing="asked for supplementary material")
        sections = self.sections_for(items, sections)
        self._supplement_requested(application_id=self.application_id, request_id=request_id, items=items,
                                   sections=sections, reason=reason, deadline=deadline, actor=actor)

    @event("SupplementRequested")
    def _supplement_requested(self, application_id: str, request_id: str, items: list, sections: list,
                              reason: str, deadline: datetime, actor: dict) -> None:
        self.requests.append({"request_id": request_id, "items": items, "sections": sections, "reason": reason,
                              "deadline": deadline, "state": "open", "answered_version": None,
                              "on_time": None, "extensions": []})
        self.state = AWAITING_SUPPLEMENT

    def receive_supplement(self, request_id: str, plan_version: int, digest: str, name: str, on_time: bool,
                           caused_by: dict) -> bool:
        """The applicant's supplement arrived; a stale or unknown request id changes nothing."""
        request = self.open_request
        if request is None or request["request_id"] != request_id:
            return False
        self._supplement_received(application_id=self.application_id, request_id=request_id,
                                  plan_version=plan_version, digest=digest, name=name, on_time=on_time,
                                  caused_by=caused_by)
        return True

    @event("SupplementReceived")
    def _supplement_received(self, application_id: str, request_id: str, plan_version: int, digest: str,
                             name: str, on_time: bool, caused_by: dict) -> None:
        request = self.requests[-1]
        request.update(state="answered", answered_version=plan_version, on_time=on_time)
        for item in request["items"]:  # the officer checks the supplemented items afresh
            self.findings.pop(item, None)
        self.plan_version, self.digest, self.name = plan_version, digest, name
        self.state = UNDER_REVIEW

    def supplement_overdue(self, request_id: str, deadline: datetime) -> bool:
        request = self.open_request
        if self.state != AWAITING_SUPPLEMENT or request is None or request["request_id"] != request_id:
            return False
        self._supplement_overdue(application_id=self.application_id, request_id=request_id, deadline=deadline)
        return True

    @event("SupplementOverdue")
    def _supplement_overdue(self, application_id: str, request_id: str, deadline: datetime) -> None:
        self.requests[-1]["state"] = "overdue"
        self.state = SUPPLEMENT_OVERDUE

    def extend_supplement(self, request_id: str, new_deadline: datetime, reason: str, actor: dict) -> None:
        self.request(request_id)
        request = self.open_request
        if request is None or request["request_id"] != request_id:
            raise WrongStage.of("stage", "only the open supplement request's deadline can be extended",
                                state=self.state, request_id=request_id)
        self._supplement_extended(application_id=self.application_id, request_id=request_id,
                                  new_deadline=new_deadline, reason=reason, actor=actor)

    @event("SupplementDeadlineExtended")
    def _supplement_extended(self, application_id: str, request_id: str, new_deadline: datetime, reason: str,
                             actor: dict) -> None:
        extend_request(self.requests[-1], new_deadline, reason)
        self.state = AWAITING_SUPPLEMENT

    def pass_review(self, checklist: list[dict], note: str, actor: dict) -> None:
        self._require(UNDER_REVIEW, doing="passed")
        missing = incomplete_items(checklist)
        if missing:
            raise ChecklistIncomplete.of(
                "checklist_complete", f"{len(missing)} checklist item(s) missing or deficient",
                items=[{"item": i["item"], "status": i["status"], "detail": i["detail"]} for i in missing])
        self._passed(application_id=self.application_id, number=self.number, plan_version=self.plan_version,
                     name=self.name, base_type=self.base_type, region=self.region, domain=self.domain,
                     applicant_organization=self.applicant_organization, applicant_name=self.applicant_name,
                     organizing_unit_id=self.organizing_unit_id, recommending_unit_id=self.recommending_unit_id,
                     note=note, actor=actor)

    @event("Passed")
    def _passed(self, application_id: str, number: str, plan_version: int, name: str, base_type: str,
                region: str | None, domain: str | None, applicant_organization: str, applicant_name: str,
                organizing_unit_id: str, recommending_unit_id: str, note: str, actor: dict) -> None:
        self.state = PASSED

    def reject(self, reasons: list[str], actor: dict) -> None:
        self._require(*OPEN_STATES, doing="found inadmissible")
        self._found_inadmissible(application_id=self.application_id, number=self.number, reasons=reasons,
                                 actor=actor)

    @event("FoundInadmissible")
    def _found_inadmissible(self, application_id: str, number: str | None, reasons: list, actor: dict) -> None:
        self.reasons = list(reasons)
        if self.requests and self.requests[-1]["state"] in ("open", "overdue"):
            self.requests[-1]["state"] = "closed"
        self.state = FOUND_INADMISSIBLE

    def record_informed(self, decision: str, informed_at: datetime, channel: str, note: str, actor: dict) -> None:
        """The applicant was informed of the decision: a fact of its own, after the decision."""
        if self.state != decision:
            raise WrongStage.of("decision_taken", f"the case is {self.state}, not {decision}",
                                state=self.state, decision=decision)
        if decision in self.informed:
            raise AlreadyInformed.of("inform_once", "the applicant's being informed is already recorded",
                                     decision=decision, informed_at=self.informed[decision]["informed_at"])
        self._applicant_informed(application_id=self.application_id, decision=decision, informed_at=informed_at,
                                 channel=channel, note=note, actor=actor)

    @event("ApplicantInformed")
    def _applicant_informed(self, application_id: str, decision: str, informed_at: datetime, channel: str,
                            note: str, actor: dict) -> None:
        self.informed[decision] = {"informed_at": informed_at, "channel": channel, "note": note}

    # --- upstream facts ------------------------------------------------------------------

    def close(self, reason: str, caused_by: dict) -> bool:
        if not self.is_open:
            return False
        self._closed(application_id=self.application_id, reason=reason, caused_by=caused_by)
        return True

    @event("Closed")
    def _closed(self, application_id: str, reason: str, caused_by: dict) -> None:
        if self.requests and self.requests[-1]["state"] in ("open", "overdue"):
            self.requests[-1]["state"] = "closed"
        self.closed_reason = reason
        self.state = CLOSED
