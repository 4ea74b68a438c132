"""Expert review's domain (专家论证, guide §三(五)) and approval (批准筹建, §三(六)): the expert
register, panels and their conflict-free assignments, blind opinions, the site visit,
the panel's conclusion and revision rounds, SAC's approval within the limits of §一,
and the construction plan due three months after approval.
"""
from __future__ import annotations

import uuid
from datetime import datetime

from eventsourcing.domain import Aggregate, event

from shared.clock import BEIJING
from shared.rules import PANEL_MINIMUM, construction_plan_due, panel_size_allowed
from shared.contracts.review import CONCLUSIONS, DIMENSIONS
from shared.errors import RuleViolation
from services.review.errors import (
    ConflictOfInterest,
    DomainBaseExists,
    DomainBaseLimitReached,
    NotAssigned,
    NotTheChair,
    OpinionAlreadySubmitted,
    OpinionsOutstanding,
    PanelSize,
    RegionalBaseExists,
    RequestNotFound,
    WrongStage,
)
from services.review.common import extend_request

EXPERT_NAMESPACE = uuid.UUID("0b8d5f3e-6c2a-4e1f-9a7b-3d5c7e9f1a24")
APPRAISAL_NAMESPACE = uuid.UUID("5e2c8a4f-1b7d-4f3e-8c6a-9d0e2f4a6b35")
OPINION_NAMESPACE = uuid.UUID("a3f1c7e5-8d2b-4a6c-b9e0-4f6a8c0e2d46")
SLOT_NAMESPACE = uuid.UUID("d6a4b2c0-3e1f-4b5d-a7c9-e1f3a5c7e957")
UNIT_NAMESPACE = uuid.UUID("f8c6e4a2-5b3d-4e7f-91a3-b5d7f9a1c368")

AWAITING_PANEL = "awaiting_panel"          # passed formal review; no panel yet
UNDER_REVIEW = "under_review"              # a panel is assigned; opinions are coming in
CONCLUDED = "concluded"                    # the panel's conclusion: pass or fail
REVISION_REQUESTED = "revision_requested"  # pass with revisions: the applicant revises by a deadline
REVISION_OVERDUE = "revision_overdue"      # the deadline passed without a revised version
REVISION_RECEIVED = "revision_received"    # the revised version is in; the chair looks at it
REVISION_CONFIRMED = "revision_confirmed"  # the chair confirmed the revised version
APPROVED = "approved"                      # 批准筹建; the construction plan is due
DECLINED = "declined"                      # SAC declined to approve
CLOSED = "closed"                          # the applicant withdrew
STATES = (AWAITING_PANEL, UNDER_REVIEW, CONCLUDED, REVISION_REQUESTED, REVISION_OVERDUE, REVISION_RECEIVED,
          REVISION_CONFIRMED, APPROVED, DECLINED, CLOSED)
DECIDABLE = (CONCLUDED, REVISION_REQUESTED, REVISION_OVERDUE, REVISION_RECEIVED, REVISION_CONFIRMED)

PASS, PASS_WITH_REVISIONS, FAIL = CONCLUSIONS
ASSIGNED, DECLINED_BY_EXPERT = "assigned", "declined"
MIN_PANEL = PANEL_MINIMUM  # guide §三(四), shared.rules
MAX_DOMAIN_BASES = 2          # guide §一: two only where the domain has several industrial clusters


def expert_aggregate_id(expert_id: str) -> uuid.UUID:
    return uuid.uuid5(EXPERT_NAMESPACE, expert_id)


def appraisal_id(application_id) -> uuid.UUID:
    return uuid.uuid5(APPRAISAL_NAMESPACE, str(application_id))


def opinion_id(application_id, expert_id: str) -> uuid.UUID:
    """One opinion per expert and application: a second submission collides on this id."""
    return uuid.uuid5(OPINION_NAMESPACE, f"{application_id}:{expert_id}")


def slot_id(base_type: str, scope: str, ordinal: int) -> uuid.UUID:
    return uuid.uuid5(SLOT_NAMESPACE, f"{base_type}:{scope}:{ordinal}")


def unit_record_id(unit_id: str) -> uuid.UUID:
    return uuid.uuid5(UNIT_NAMESPACE, unit_id)


# --- the register ---------------------------------------------------------------------

class Expert(Aggregate):
    """An expert of SAC's register (专家库)."""

    class Registered(Aggregate.Created):
        expert_id: str
        name: str
        organization: str
        organization_name: str
        region: str
        fields: list
        email: str
        phone: str | None
        conflicts: list
        actor: dict

    def __init__(self, expert_id, name, organization, organization_name, region, fields, email, phone,
                 conflicts, actor):
        self.expert_id = expert_id
        self.name = name
        self.organization = organization
        self.organization_name = organization_name
        self.region = region
        self.fields = list(fields)
        self.email = email
        self.phone = phone
        self.conflicts = list(conflicts)  # [{organization, reason}]

    @classmethod
    def register(cls, *, actor: dict, **expert) -> "Expert":
        return cls._create(cls.Registered, id=expert_aggregate_id(expert["expert_id"]), actor=actor, **expert)

    def declare_conflict(self, organization: str, reason: str, actor: dict) -> None:
        self._conflict_declared(expert_id=self.expert_id, organization=organization, reason=reason, actor=actor)

    @event("ConflictDeclared")
    def _conflict_declared(self, expert_id: str, organization: str, reason: str, actor: dict) -> None:
        self.conflicts.append({"organization": organization, "reason": reason})

    def summary(self) -> dict:
        return {"expert_id": self.expert_id, "name": self.name, "organization": self.organization,
                "organization_name": self.organization_name, "region": self.region, "fields": self.fields}


class UnitRecord(Aggregate):
    """An organizing or recommending unit as intake registered it: its credit code is what a
    "same organization" conflict compares."""

    class Recorded(Aggregate.Created):
        unit_id: str
        name: str
        credit_code: str | None
        caused_by: dict

    def __init__(self, unit_id, name, credit_code, caused_by):
        self.unit_id = unit_id
        self.name = name
        self.credit_code = credit_code

    @classmethod
    def record(cls, *, unit_id: str, name: str, credit_code: str | None, caused_by: dict) -> "UnitRecord":
        return cls._create(cls.Recorded, id=unit_record_id(unit_id), unit_id=unit_id, name=name,
                           credit_code=credit_code, caused_by=caused_by)

    def update(self, name: str, credit_code: str | None, caused_by: dict) -> bool:
        if (name, credit_code) == (self.name, self.credit_code):
            return False
        self._updated(name=name, credit_code=credit_code, caused_by=caused_by)
        return True

    @event("UnitUpdated")
    def _updated(self, name: str, credit_code: str | None, caused_by: dict) -> None:
        self.name, self.credit_code = name, credit_code


# --- conflicts of interest --------------------------------------------------------------

def parties_of(appraisal: "Appraisal", unit_codes: dict[str, str | None]) -> dict[str, set[str]]:
    """The organizations (credit codes, and unit ids where no code is known) of each party."""
    def organizations(unit_id: str) -> set[str]:
        return {o for o in (unit_id, unit_codes.get(unit_id)) if o}

    return {
        "applicant": {appraisal.applicant_organization},
        "organizing_unit": organizations(appraisal.organizing_unit_id),
        "recommending_unit": organizations(appraisal.recommending_unit_id),
    }


def avoidance_matches(avoidance: dict, expert: Expert) -> bool:
    """Every detail the applicant gave must match: id, name, organization."""
    wanted = {"expert_id": expert.expert_id, "expert_name": expert.name, "organization": expert.organization}
    given = {k: v for k, v in avoidance.items() if k in wanted and v}
    return bool(given) and all(wanted[k] == v for k, v in given.items())


def conflicts_of(expert: Expert, appraisal: "Appraisal", unit_codes: dict[str, str | None]) -> list[dict]:
    """Why `expert` may not judge this application; empty when nothing stands in the way."""
    reasons = []
    parties = parties_of(appraisal, unit_codes)
    for party, organizations in parties.items():
        if expert.organization in organizations:
            reasons.append({"rule": "same_organization", "party": party,
                            "detail": f"the expert works at the {party.replace('_', ' ')} ({expert.organization})"})
    for declared in expert.conflicts:
        for party, organizations in parties.items():
            if declared["organization"] in organizations:
                reasons.append({"rule": "declared_conflict", "party": party,
                                "detail": f"declared by the expert: {declared['reason']}"})
    for avoidance in appraisal.avoidances:
        if avoidance_matches(avoidance, expert):
            reasons.append({"rule": "applicant_avoidance", "party": "applicant",
                            "detail": f"the applicant asked to avoid this expert: {avoidance['reason']}"})
    return reasons


def check_panel_size(application_id: str, eligible: list[str], excluded: dict[str, list[dict]]) -> None:
    if not panel_size_allowed(len(eligible)):
        raise PanelSize.of(
            "panel_size", f"application {application_id} would be judged by {len(eligible)} experts;"
            f" at least {MIN_PANEL} and an odd number are needed",
            application_id=str(application_id), eligible=eligible, minimum=MIN_PANEL,
            excluded=[{"expert_id": e, "reasons": r} for e, r in excluded.items()],
        )


def plan_panel(members: list[str], chair: str, exclusions: dict[str, dict[str, list[dict]]]) -> dict:
    """Who judges which application: members minus each application's conflicted experts.

    `exclusions` maps application id → expert id → reasons. The guide's panel of
    "at least 5, an odd number" is read as the experts who judge an application:
    on a meeting of several applications a member excluded from one still judges
    the others, so the size rule holds per application, the chair among them.
    """
    if len(set(members)) != len(members):
        raise RuleViolation.of("panel_members_distinct", "an expert appears twice on the panel", field="members")
    if chair not in members:
        raise RuleViolation.of("chair_on_panel", "the chair must be one of the panel's members", field="chair")
    plan = {}
    for application_id, excluded in exclusions.items():
        if chair in excluded:
            raise ConflictOfInterest.of("chair_without_conflict", "the chair has a conflict with an application",
                                        application_id=str(application_id), expert_id=chair,
                                        reasons=excluded[chair])
        eligible = [m for m in members if m not in excluded]
        check_panel_size(application_id, eligible, excluded)
        plan[application_id] = {"eligible": eligible, "excluded": excluded}
    return plan


# --- panels and opinions -----------------------------------------------------------------

class Panel(Aggregate):
    """A panel meeting (论证会): its date, place, applications and members, one of them the chair."""

    class Formed(Aggregate.Created):
        meeting_date: datetime
        place: str
        application_ids: list
        members: list
        chair: str
        actor: dict

    def __init__(self, meeting_date, place, application_ids, members, chair, actor):
        self.meeting_date = meeting_date
        self.place = place
        self.application_ids = list(application_ids)
        self.members = list(members)
        self.chair = chair

    @classmethod
    def form(cls, *, panel_id: uuid.UUID, meeting_date: datetime, place: str, application_ids: list[str],
             members: list[str], chair: str, actor: dict) -> "Panel":
        return cls._create(cls.Formed, id=panel_id, meeting_date=meeting_date, place=place,
                           application_ids=[str(a) for a in application_ids], members=members, chair=chair,
                           actor=actor)

    def add_member(self, expert_id: str, application_ids: list[str], as_chair: bool, actor: dict) -> None:
        if expert_id in self.members:
            raise RuleViolation.of("panel_members_distinct", "the expert is already on the panel",
                                   expert_id=expert_id)
        unknown = [a for a in application_ids if a not in self.application_ids]
        if unknown:
            raise RuleViolation.of("application_on_panel", "the panel does not judge these applications",
                                   application_ids=unknown)
        self._member_added(expert_id=expert_id, application_ids=application_ids, as_chair=as_chair, actor=actor)

    @event("MemberAdded")
    def _member_added(self, expert_id: str, application_ids: list, as_chair: bool, actor: dict) -> None:
        self.members.append(expert_id)

    def summary(self) -> dict:
        return {"panel_id": str(self.id), "meeting_date": self.meeting_date.isoformat(), "place": self.place,
                "application_ids": self.application_ids, "members": self.members, "chair": self.chair}


def check_scores(scores: dict) -> None:
    missing = [d for d in DIMENSIONS if d not in scores]
    if missing:
        raise RuleViolation.of("four_dimensions", "an opinion judges all four dimensions", missing=missing)


class Opinion(Aggregate):
    """One expert's opinion on one application: a score and a text on each of the guide's four
    dimensions (necessity, feasibility, goals and tasks, safeguards), a recommendation and a
    summary. It has no command after submission: a submitted opinion is never changed."""

    class Submitted(Aggregate.Created):
        application_id: str
        panel_id: str
        expert_id: str
        scores: dict
        recommendation: str
        summary: str
        actor: dict

    def __init__(self, application_id, panel_id, expert_id, scores, recommendation, summary, actor):
        self.application_id = application_id
        self.panel_id = panel_id
        self.expert_id = expert_id
        self.scores = scores
        self.recommendation = recommendation
        self.summary = summary

    @classmethod
    def submit(cls, *, application_id, panel_id, expert_id: str, scores: dict, recommendation: str,
               summary: str, actor: dict) -> "Opinion":
        check_scores(scores)
        return cls._create(cls.Submitted, id=opinion_id(application_id, expert_id),
                           application_id=str(application_id), panel_id=str(panel_id), expert_id=expert_id,
                           scores={d: scores[d] for d in DIMENSIONS}, recommendation=recommendation,
                           summary=summary, actor=actor)

    @property
    def total(self) -> float:
        return round(sum(s["score"] for s in self.scores.values()) / len(DIMENSIONS), 1)


# --- approval limits ------------------------------------------------------------------------

class BaseSlot(Aggregate):
    """One approved base within the guide's limits (§一): the regional base of a region, the first
    or the second domain base of a domain. Its id comes from (type, region or domain, ordinal),
    so two approvals racing for one slot cannot both succeed."""

    class Taken(Aggregate.Created):
        base_type: str
        scope: str
        ordinal: int
        application_id: str
        number: str
        name: str
        reason: str | None
        actor: dict

    def __init__(self, base_type, scope, ordinal, application_id, number, name, reason, actor):
        self.base_type = base_type
        self.scope = scope
        self.ordinal = ordinal
        self.application_id = application_id
        self.number = number
        self.name = name
        self.reason = reason

    @classmethod
    def take(cls, *, base_type: str, scope: str, ordinal: int, application_id, number: str, name: str,
             reason: str | None, actor: dict) -> "BaseSlot":
        return cls._create(cls.Taken, id=slot_id(base_type, scope, ordinal), base_type=base_type, scope=scope,
                           ordinal=ordinal, application_id=str(application_id), number=number, name=name,
                           reason=reason, actor=actor)

    def describe(self) -> dict:
        return {"application_id": self.application_id, "number": self.number, "name": self.name,
                "base_type": self.base_type, "scope": self.scope, "ordinal": self.ordinal}


def scope_of(base_type: str, region: str | None, domain: str | None) -> str | None:
    """What a base is limited within: its region (regional), its domain (domain); none (international)."""
    if base_type == "regional":
        if not region:
            raise RuleViolation.of("region_known", "a regional base needs its region to be approved")
        return region
    if base_type == "domain":
        if not domain:
            raise RuleViolation.of("domain_known", "a domain base needs its domain to be approved")
        return domain
    return None


def next_ordinal(base_type: str, scope: str, existing: list[BaseSlot], second_base_reason: str | None) -> int:
    """The slot an approval takes, or the typed error naming the base(s) already approved."""
    names = [slot.describe() for slot in existing]
    if base_type == "regional":
        if existing:
            raise RegionalBaseExists.of(
                "one_regional_base_per_region",
                f"region {scope} already has its regional base: {existing[0].name} ({existing[0].number})",
                region=scope, existing=names)
        return 1
    if len(existing) >= MAX_DOMAIN_BASES:
        raise DomainBaseLimitReached.of(
            "at_most_two_domain_bases", f"domain {scope} already has {len(existing)} bases",
            domain=scope, existing=names, limit=MAX_DOMAIN_BASES)
    if existing and not second_base_reason:
        raise DomainBaseExists.of(
            "one_domain_base_per_domain",
            f"domain {scope} already has its base: {existing[0].name} ({existing[0].number}); a second needs"
            " a recorded reason (several industrial clusters)",
            domain=scope, existing=names, second_base_allowed_with_reason=True)
    return len(existing) + 1


# --- the application in expert review ------------------------------------------------------

class Appraisal(Aggregate):
    """One application in expert review and approval: from the formal review's pass to the
    construction plan."""

    class Opened(Aggregate.Created):
        application_id: str
        number: str
        plan_version: int
        name: str
        base_type: str
        region: str | None
        domain: str | None
        applicant_organization: str
        applicant_name: str
        organizing_unit_id: str
        recommending_unit_id: str
        caused_by: dict

    def __init__(self, application_id, number, plan_version, name, base_type, region, domain,
                 applicant_organization, applicant_name, organizing_unit_id, recommending_unit_id, caused_by):
        self.application_id = application_id
        self.number = number
        self.plan_version = plan_version
        self.name = name
        self.base_type = base_type
        self.region = region
        self.domain = domain
        self.applicant_organization = applicant_organization
        self.applicant_name = applicant_name
        self.organizing_unit_id = organizing_unit_id
        self.recommending_unit_id = recommending_unit_id
        self.state = AWAITING_PANEL
        self.avoidances: list[dict] = []
        self.panel_id: str | None = None
        self.meeting_date: datetime | None = None
        self.place: str | None = None
        self.assignments: dict[str, dict] = {}
        self.exclusions: dict[str, list[dict]] = {}
        self.opinions: list[str] = []
        self.site_visit: dict | None = None
        self.conclusion: str | None = None
        self.conclusion_text: str | None = None
        self.revisions: list[dict] = []
        self.decision: dict | None = None
        self.construction_plan_due: datetime | None = None
        self.construction_plan: dict | None = None
        self.construction_plan_overdue = False
        self.closed_reason: str | None = None

    @classmethod
    def open(cls, *, caused_by: dict, **passed) -> "Appraisal":
        return cls._create(cls.Opened, id=appraisal_id(passed["application_id"]), caused_by=caused_by, **passed)

    def _require(self, *states: str, doing: str) -> None:
        if self.state not in states:
            raise WrongStage.of("stage", f"an application that is {self.state} cannot be {doing}",
                                state=self.state, allowed=list(states))

    # --- who is on it ---------------------------------------------------------------------

    def active_experts(self) -> list[str]:
        return [e for e, a in self.assignments.items() if a["state"] == ASSIGNED]

    @property
    def chair(self) -> str | None:
        return next((e for e, a in self.assignments.items() if a["state"] == ASSIGNED and a["is_chair"]), None)

    def is_assigned(self, expert_id: str) -> bool:
        return self.assignments.get(expert_id, {}).get("state") == ASSIGNED

    def require_assigned(self, expert_id: str) -> None:
        if not self.is_assigned(expert_id):
            raise NotAssigned("you are not assigned to this application",
                              {"application_id": self.application_id, "rule": "assigned"})

    def require_chair(self, expert_id: str) -> None:
        self.require_assigned(expert_id)
        if self.chair != expert_id:
            raise NotTheChair("only the panel's chair for this application may do this",
                              {"application_id": self.application_id, "rule": "chair"})

    # --- before the panel ---------------------------------------------------------------

    def request_avoidance(self, expert_id: str | None, expert_name: str | None, organization: str | None,
                          reason: str, actor: dict) -> None:
        """The applicant names an expert (or an organization's experts) to avoid, before the panel forms."""
        self._require(AWAITING_PANEL, doing="given an avoidance request (the panel is formed)")
        self._avoidance_requested(expert_id=expert_id, expert_name=expert_name, organization=organization,
                                  reason=reason, actor=actor)

    @event("AvoidanceRequested")
    def _avoidance_requested(self, expert_id, expert_name, organization, reason: str, actor: dict) -> None:
        self.avoidances.append({"expert_id": expert_id, "expert_name": expert_name, "organization": organization,
                                "reason": reason})

    # --- the panel ------------------------------------------------------------------------

    def assign_panel(self, panel_id, meeting_date: datetime, place: str, actor: dict) -> None:
        self._require(AWAITING_PANEL, doing="put on a panel")
        self._panel_assigned(application_id=self.application_id, panel_id=str(panel_id),
                             meeting_date=meeting_date, place=place, actor=actor)

    @event("PanelAssigned")
    def _panel_assigned(self, application_id: str, panel_id: str, meeting_date: datetime, place: str,
                        actor: dict) -> None:
        self.panel_id, self.meeting_date, self.place = panel_id, meeting_date, place
        self.state = UNDER_REVIEW

    def assign(self, expert_id: str, is_chair: bool, actor: dict) -> None:
        self._require(UNDER_REVIEW, doing="given an expert")
        if expert_id in self.assignments:
            raise RuleViolation.of("assigned_once", "the expert is already assigned to this application",
                                   expert_id=expert_id, application_id=self.application_id)
        if is_chair and self.chair is not None:
            raise RuleViolation.of("one_chair", "the application's chair has not declined",
                                   chair=self.chair, application_id=self.application_id)
        self._expert_assigned(application_id=self.application_id, panel_id=self.panel_id, expert_id=expert_id,
                              is_chair=is_chair, meeting_date=self.meeting_date, place=self.place, actor=actor)

    @event("ExpertAssigned")
    def _expert_assigned(self, application_id: str, panel_id: str, expert_id: str, is_chair: bool,
                         meeting_date: datetime, place: str, actor: dict) -> None:
        self.assignments[expert_id] = {"is_chair": is_chair, "state": ASSIGNED, "reason_kind": None,
                                       "reason": None}

    def exclude(self, expert_id: str, reasons: list[dict], actor: dict) -> None:
        """Recorded so the officer sees why an expert on the panel does not judge this application."""
        self._expert_excluded(application_id=self.application_id, panel_id=self.panel_id, expert_id=expert_id,
                              reasons=reasons, actor=actor)

    @event("ExpertExcluded")
    def _expert_excluded(self, application_id: str, panel_id: str, expert_id: str, reasons: list,
                         actor: dict) -> None:
        self.exclusions[expert_id] = reasons

    def decline_assignment(self, expert_id: str, reason_kind: str, reason: str, actor: dict) -> None:
        self.require_assigned(expert_id)
        self._require(UNDER_REVIEW, doing="declined by an expert")
        if expert_id in self.opinions:
            raise OpinionAlreadySubmitted.of("declined_before_opinion",
                                             "an expert who submitted an opinion cannot decline")
        self._expert_declined(application_id=self.application_id, panel_id=self.panel_id, expert_id=expert_id,
                              reason_kind=reason_kind, reason=reason, actor=actor)

    @event("ExpertDeclined")
    def _expert_declined(self, application_id: str, panel_id: str, expert_id: str, reason_kind: str, reason: str,
                         actor: dict) -> None:
        self.assignments[expert_id].update(state=DECLINED_BY_EXPERT, reason_kind=reason_kind, reason=reason)

    # --- opinions and the site visit -------------------------------------------------------

    def check_can_give_opinion(self, expert_id: str) -> None:
        self.require_assigned(expert_id)
        if expert_id in self.opinions:
            raise OpinionAlreadySubmitted.of("opinion_once", "your opinion is submitted and is never changed",
                                             application_id=self.application_id)
        self._require(UNDER_REVIEW, doing="given an opinion")

    def record_opinion(self, expert_id: str, actor: dict) -> None:
        self.check_can_give_opinion(expert_id)
        self._opinion_received(application_id=self.application_id, expert_id=expert_id, actor=actor)

    @event("OpinionReceived")
    def _opinion_received(self, application_id: str, expert_id: str, actor: dict) -> None:
        self.opinions.append(expert_id)

    def schedule_site_visit(self, visit_date: datetime, place: str, actor: dict) -> None:
        self._require(UNDER_REVIEW, doing="given a site visit")
        if self.site_visit and self.site_visit["findings"] is not None:
            raise RuleViolation.of("site_visit_once", "the site visit is already recorded")
        self._site_visit_scheduled(application_id=self.application_id, visit_date=visit_date, place=place,
                                   actor=actor)

    @event("SiteVisitScheduled")
    def _site_visit_scheduled(self, application_id: str, visit_date: datetime, place: str, actor: dict) -> None:
        self.site_visit = {"visit_date": visit_date, "place": place, "findings": None}

    def record_site_visit(self, findings: str, actor: dict) -> None:
        self._require(UNDER_REVIEW, doing="given site visit findings")
        if self.site_visit is None:
            raise RuleViolation.of("site_visit_scheduled", "no site visit is scheduled")
        if self.site_visit["findings"] is not None:
            raise RuleViolation.of("site_visit_once", "the site visit is already recorded")
        self._site_visit_recorded(application_id=self.application_id, findings=findings, actor=actor)

    @event("SiteVisitRecorded")
    def _site_visit_recorded(self, application_id: str, findings: str, actor: dict) -> None:
        self.site_visit["findings"] = findings

    # --- the conclusion and revisions ------------------------------------------------------

    def conclude(self, chair: str, conclusion: str, text: str, actor: dict) -> None:
        self.require_chair(chair)
        self._require(UNDER_REVIEW, doing="concluded")
        active = self.active_experts()
        if not panel_size_allowed(len(active)):
            raise PanelSize.of("panel_size", f"{len(active)} experts judge this application; at least {MIN_PANEL}"
                               " and an odd number are needed: the officer adds a member",
                               application_id=self.application_id, eligible=active, minimum=MIN_PANEL)
        outstanding = [e for e in active if e not in self.opinions]
        if outstanding:
            raise OpinionsOutstanding.of("all_opinions_in", f"{len(outstanding)} opinion(s) outstanding",
                                         outstanding=len(outstanding))
        if self.site_visit and self.site_visit["findings"] is None:
            raise RuleViolation.of("site_visit_recorded", "the scheduled site visit has no findings yet")
        self._concluded(application_id=self.application_id, panel_id=self.panel_id, conclusion=conclusion,
                        text=text, actor=actor)

    @event("Concluded")
    def _concluded(self, application_id: str, panel_id: str, conclusion: str, text: str, actor: dict) -> None:
        self.conclusion, self.conclusion_text = conclusion, text
        self.state = CONCLUDED

    @property
    def current_revision(self) -> dict | None:
        return self.revisions[-1] if self.revisions else None

    def next_request_id(self) -> str:
        return str(uuid.uuid5(self.id, f"revision-{len(self.revisions) + 1}"))

    def request_revision(self, request_id: str, sections: list[str], reason: str, deadline: datetime,
                         actor: dict) -> None:
        """Pass with revisions: the first round right after the conclusion, another after a revised version."""
        if self.state == CONCLUDED and self.conclusion != PASS_WITH_REVISIONS:
            raise WrongStage.of("revisions_concluded", "only a pass with revisions asks for revisions",
                                conclusion=self.conclusion, state=self.state)
        self._require(CONCLUDED, REVISION_RECEIVED, doing="asked for revisions")
        self._revision_requested(application_id=self.application_id, request_id=request_id, sections=sections,
                                 reason=reason, deadline=deadline, actor=actor)

    @event("RevisionRequested")
    def _revision_requested(self, application_id: str, request_id: str, sections: list, reason: str,
                            deadline: datetime, actor: dict) -> None:
        self.revisions.append({"request_id": request_id, "sections": sections, "reason": reason,
                               "deadline": deadline, "state": "open", "received_version": None,
                               "on_time": None, "extensions": [], "note": None})
        self.state = REVISION_REQUESTED

    def revision(self, request_id: str) -> dict:
        for revision in self.revisions:
            if revision["request_id"] == request_id:
                return revision
        raise RequestNotFound("no such revision request on this application",
                              {"request_id": request_id, "application_id": self.application_id})

    def receive_revision(self, request_id: str, plan_version: int, on_time: bool, caused_by: dict) -> bool:
        current = self.current_revision
        if self.state not in (REVISION_REQUESTED, REVISION_OVERDUE) or current["request_id"] != request_id:
            return False
        self._revision_received(application_id=self.application_id, request_id=request_id,
                                plan_version=plan_version, on_time=on_time, caused_by=caused_by)
        return True

    @event("RevisionReceived")
    def _revision_received(self, application_id: str, request_id: str, plan_version: int, on_time: bool,
                           caused_by: dict) -> None:
        self.revisions[-1].update(state="received", received_version=plan_version, on_time=on_time)
        self.plan_version = plan_version
        self.state = REVISION_RECEIVED

    def revision_overdue(self, request_id: str) -> bool:
        current = self.current_revision
        if self.state != REVISION_REQUESTED or current["request_id"] != request_id:
            return False
        self._revision_overdue(application_id=self.application_id, request_id=request_id)
        return True

    @event("RevisionOverdue")
    def _revision_overdue(self, application_id: str, request_id: str) -> None:
        self.revisions[-1]["state"] = "overdue"
        self.state = REVISION_OVERDUE

    def extend_revision(self, request_id: str, new_deadline: datetime, reason: str, actor: dict) -> None:
        self.revision(request_id)
        if self.state not in (REVISION_REQUESTED, REVISION_OVERDUE) or self.current_revision["request_id"] != request_id:
            raise WrongStage.of("stage", "only the open revision request's deadline can be extended",
                                state=self.state, request_id=request_id)
        self._revision_extended(application_id=self.application_id, request_id=request_id,
                                new_deadline=new_deadline, reason=reason, actor=actor)

    @event("RevisionDeadlineExtended")
    def _revision_extended(self, application_id: str, request_id: str, new_deadline: datetime, reason: str,
                           actor: dict) -> None:
        extend_request(self.revisions[-1], new_deadline, reason)
        self.state = REVISION_REQUESTED

    def confirm_revision(self, chair: str, note: str, actor: dict) -> None:
        self.require_chair(chair)
        self._require(REVISION_RECEIVED, doing="confirmed as revised")
        current = self.current_revision
        self._revision_confirmed(application_id=self.application_id, request_id=current["request_id"],
                                 plan_version=current["received_version"], note=note, actor=actor)

    @event("RevisionConfirmed")
    def _revision_confirmed(self, application_id: str, request_id: str, plan_version: int, note: str,
                            actor: dict) -> None:
        self.revisions[-1].update(state="confirmed", note=note)
        self.state = REVISION_CONFIRMED

    # --- approval (批准筹建) ------------------------------------------------------------------

    def check_approvable(self) -> None:
        if self.state == CONCLUDED and self.conclusion != PASS:
            raise WrongStage.of("expert_review_passed", f"the panel concluded {self.conclusion}",
                                conclusion=self.conclusion, state=self.state)
        self._require(CONCLUDED, REVISION_CONFIRMED, doing="approved")

    def approve(self, reasons: str, approved_at: datetime, slot: dict | None, second_base_reason: str | None,
                actor: dict) -> datetime:
        self.check_approvable()
        due = construction_plan_due(approved_at)
        self._approved(application_id=self.application_id, number=self.number, base_type=self.base_type,
                       region=self.region, domain=self.domain, organizing_unit_id=self.organizing_unit_id,
                       construction_plan_due=due, reasons=reasons, slot=slot,
                       second_base_reason=second_base_reason, actor=actor)
        return due

    @event("Approved")
    def _approved(self, application_id: str, number: str, base_type: str, region, domain, organizing_unit_id: str,
                  construction_plan_due: datetime, reasons: str, slot, second_base_reason, actor: dict) -> None:
        self.decision = {"decision": "approved", "reasons": reasons, "slot": slot,
                         "second_base_reason": second_base_reason}
        self.construction_plan_due = construction_plan_due
        self.state = APPROVED

    def decline_approval(self, reasons: str, actor: dict) -> None:
        self._require(*DECIDABLE, doing="declined")
        self._approval_declined(application_id=self.application_id, number=self.number, reasons=reasons,
                                actor=actor)

    @event("ApprovalDeclined")
    def _approval_declined(self, application_id: str, number: str, reasons: str, actor: dict) -> None:
        self.decision = {"decision": "declined", "reasons": reasons}
        if self.revisions and self.revisions[-1]["state"] in ("open", "overdue"):
            self.revisions[-1]["state"] = "closed"
        self.state = DECLINED

    def check_construction_plan_open(self) -> None:
        self._require(APPROVED, doing="given a construction plan")
        if self.construction_plan is not None:
            raise RuleViolation.of("construction_plan_once", "the construction plan is already submitted",
                                   submitted_at=self.construction_plan["submitted_at"].isoformat())

    def submit_construction_plan(self, plan: dict, submitted_at: datetime, actor: dict) -> bool:
        """On time when it arrives by the due date (as extended) and the deadline was not missed first."""
        self.check_construction_plan_open()
        on_time = not self.construction_plan_overdue and submitted_at <= self.construction_plan_due
        self._construction_plan_submitted(application_id=self.application_id,
                                          organizing_unit_id=self.organizing_unit_id, plan=plan,
                                          submitted_at=submitted_at, on_time=on_time, actor=actor)
        return on_time

    @event("ConstructionPlanSubmitted")
    def _construction_plan_submitted(self, application_id: str, organizing_unit_id: str, plan: dict,
                                     submitted_at: datetime, on_time: bool, actor: dict) -> None:
        self.construction_plan = {"plan": plan, "submitted_at": submitted_at, "on_time": on_time}

    def extend_construction_plan(self, new_deadline: datetime, reason: str, actor: dict) -> None:
        self._require(APPROVED, doing="given more time for the construction plan")
        if self.construction_plan is not None:
            raise RuleViolation.of("construction_plan_once", "the construction plan is already submitted")
        self._construction_plan_extended(application_id=self.application_id, new_deadline=new_deadline,
                                         reason=reason, actor=actor)

    @event("ConstructionPlanDeadlineExtended")
    def _construction_plan_extended(self, application_id: str, new_deadline: datetime, reason: str,
                                    actor: dict) -> None:
        self.construction_plan_due = new_deadline
        self.construction_plan_overdue = False

    def construction_plan_missed(self) -> bool:
        if self.state != APPROVED or self.construction_plan is not None or self.construction_plan_overdue:
            return False
        self._construction_plan_overdue(application_id=self.application_id)
        return True

    @event("ConstructionPlanOverdue")
    def _construction_plan_overdue(self, application_id: str) -> None:
        self.construction_plan_overdue = True

    # --- upstream facts --------------------------------------------------------------------

    def close(self, reason: str, caused_by: dict) -> bool:
        """The applicant or the recommending unit withdrew. An approved base stays approved: revoking it
        is SAC's act, not intake's or endorsement's."""
        if self.state in (APPROVED, DECLINED, CLOSED):
            return False
        self._closed(application_id=self.application_id, reason=reason, caused_by=caused_by)
        return True

    @event("Closed")
    def _closed(self, application_id: str, reason: str, caused_by: dict) -> None:
        if self.revisions and self.revisions[-1]["state"] in ("open", "overdue"):
            self.revisions[-1]["state"] = "closed"
        self.closed_reason = reason
        self.state = CLOSED
