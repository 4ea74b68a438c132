"""Expert review's event-sourced application: the expert register, panels, opinions,
conclusions and revisions, approval within the guide's limits, the construction plan,
and the deadlines of revisions and construction plans."""
from __future__ import annotations

import base64
import json
import logging
import uuid
from datetime import datetime

from eventsourcing.application import AggregateNotFoundError
from sqlalchemy import text

from services.review.common import retrying
from services.review.deadlines import DEADLINES_DDL, Deadline, DeadlineKeeper
from services.review.errors import (
    ConflictOfInterest,
    ExpertAlreadyRegistered,
    ExpertNotFound,
    NotAssigned,
    PanelNotFound,
)
from services.review.expert_review.domain import (
    APPROVED,
    AWAITING_PANEL,
    MAX_DOMAIN_BASES,
    PASS_WITH_REVISIONS,
    UNDER_REVIEW,
    Appraisal,
    BaseSlot,
    Expert,
    Opinion,
    Panel,
    UnitRecord,
    appraisal_id,
    conflicts_of,
    expert_aggregate_id,
    next_ordinal,
    opinion_id,
    plan_panel,
    scope_of,
    slot_id,
    unit_record_id,
)
from shared import blobs, clock, preconditions
from shared.auth import Caller
from shared.contracts import IntegrationEvent
from shared.contracts.review import DIMENSIONS
from shared.errors import ApplicationNotFound, InnobaseError, InvalidInput, NotYourApplication, RuleViolation
from shared.eventstore import ServiceApplication, jsonable
from shared.listing import order_by
from shared.reference import catalogue, regions
from shared.reference.credit_code import check_credit_code

log = logging.getLogger(__name__)

REVISION, CONSTRUCTION_PLAN = "revision", "construction_plan"
READERS_OF_ALL = ("officer", "auditor")
OWN_ORGANIZATION = {"applicant": "applicant_organization", "organizing_unit": "organizing_unit_id",
                    "recommending_unit": "recommending_unit_id"}
PANEL_NAMESPACE = uuid.UUID("b1e3d5f7-9a2c-4e6b-8d0f-2a4c6e8b0d79")
APPRAISAL_STATE_AFTER = {
    "Opened": "awaiting_panel", "PanelAssigned": "under_review", "Concluded": "concluded",
    "RevisionRequested": "revision_requested", "RevisionReceived": "revision_received",
    "RevisionOverdue": "revision_overdue", "RevisionDeadlineExtended": "revision_requested",
    "RevisionConfirmed": "revision_confirmed", "Approved": "approved", "ApprovalDeclined": "declined",
    "Closed": "closed",
}


class ExpertReview(DeadlineKeeper, ServiceApplication):
    name = "ExpertReview"
    service = "expert_review"
    read_model_tables = ("experts", "units", "appraisals", "assignments", "opinions", "panels",
                         "approved_bases", "deadlines")
    read_model_ddl = """
    CREATE TABLE IF NOT EXISTS experts (
        expert_id text PRIMARY KEY,
        name text NOT NULL,
        organization text NOT NULL,
        organization_name text NOT NULL,
        region text NOT NULL,
        fields jsonb NOT NULL,
        email text NOT NULL,
        phone text,
        conflicts jsonb NOT NULL,
        registered_at timestamptz NOT NULL,
        position bigint NOT NULL
    );
    CREATE TABLE IF NOT EXISTS units (
        unit_id text PRIMARY KEY,
        name text NOT NULL,
        credit_code text,
        position bigint NOT NULL
    );
    CREATE TABLE IF NOT EXISTS appraisals (
        application_id uuid PRIMARY KEY,
        number text NOT NULL,
        name text NOT NULL,
        base_type text NOT NULL,
        region text,
        domain text,
        applicant_organization text NOT NULL,
        applicant_name text NOT NULL,
        organizing_unit_id text NOT NULL,
        recommending_unit_id text NOT NULL,
        plan_version int NOT NULL,
        state text NOT NULL,
        panel_id uuid,
        meeting_date timestamptz,
        conclusion text,
        construction_plan_due timestamptz,
        opened_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        position bigint NOT NULL
    );
    CREATE INDEX IF NOT EXISTS appraisals_by_state ON appraisals (state, opened_at);
    CREATE TABLE IF NOT EXISTS assignments (
        application_id uuid NOT NULL,
        expert_id text NOT NULL,
        panel_id uuid NOT NULL,
        is_chair boolean NOT NULL,
        state text NOT NULL,
        meeting_date timestamptz NOT NULL,
        place text NOT NULL,
        opinion_submitted boolean NOT NULL DEFAULT false,
        assigned_at timestamptz NOT NULL,
        position bigint NOT NULL,
        PRIMARY KEY (application_id, expert_id)
    );
    CREATE INDEX IF NOT EXISTS assignments_by_expert ON assignments (expert_id, meeting_date);
    CREATE TABLE IF NOT EXISTS opinions (
        application_id uuid NOT NULL,
        expert_id text NOT NULL,
        panel_id uuid NOT NULL,
        scores jsonb NOT NULL,
        total numeric NOT NULL,
        recommendation text NOT NULL,
        summary text NOT NULL,
        submitted_at timestamptz NOT NULL,
        position bigint NOT NULL,
        PRIMARY KEY (application_id, expert_id)
    );
    CREATE TABLE IF NOT EXISTS panels (
        panel_id uuid PRIMARY KEY,
        meeting_date timestamptz NOT NULL,
        place text NOT NULL,
        application_ids jsonb NOT NULL,
        members jsonb NOT NULL,
        chair text NOT NULL,
        formed_at timestamptz NOT NULL,
        position bigint NOT NULL
    );
    CREATE TABLE IF NOT EXISTS approved_bases (
        slot_id uuid PRIMARY KEY,
        base_type text NOT NULL,
        scope text NOT NULL,
        ordinal int NOT NULL,
        application_id uuid NOT NULL,
        number text NOT NULL,
        name text NOT NULL,
        reason text,
        approved_at timestamptz NOT NULL,
        position bigint NOT NULL
    );
    """ + DEADLINES_DDL + blobs.BLOBS_DDL
    reactions = {
        ("formal_review", "FormalReviewPassed"): "on_formal_review_passed",
        ("intake", "ApplicationSubmitted"): "on_application_submitted",
        ("intake", "ApplicationWithdrawn"): "on_application_withdrawn",
        ("intake", "UnitRegistered"): "on_unit_registered",
        ("endorsement", "RecommendationWithdrawn"): "on_recommendation_withdrawn",
    }
    projections = {
        **DeadlineKeeper.DEADLINE_PROJECTIONS,
        "Registered": "_project_expert",
        "ConflictDeclared": "_project_conflict",
        "Recorded": "_project_unit",
        "UnitUpdated": "_project_unit",
        "Opened": "_project_opened",
        **{name: "_project_appraisal" for name in APPRAISAL_STATE_AFTER if name != "Opened"},
        "ConstructionPlanDeadlineExtended": "_project_appraisal",
        "ExpertAssigned": "_project_assigned",
        "ExpertDeclined": "_project_declined",
        "Submitted": "_project_opinion",
        "Formed": "_project_panel",
        "MemberAdded": "_project_member",
        "Taken": "_project_slot",
    }

    # --- reactions ------------------------------------------------------------------------

    def on_formal_review_passed(self, event: IntegrationEvent) -> list:
        p = event.payload
        if self._appraisal_or_none(p["application_id"]) is not None:
            return []
        return [Appraisal.open(
            caused_by=_cause(event), application_id=p["application_id"], number=p["number"],
            plan_version=p["plan_version"], name=p["name"], base_type=p["base_type"], region=p["region"],
            domain=p["domain"], applicant_organization=p["applicant_organization"],
            applicant_name=p["applicant_name"], organizing_unit_id=p["organizing_unit_id"],
            recommending_unit_id=p["recommending_unit_id"],
        )]

    def on_unit_registered(self, event: IntegrationEvent) -> list:
        p = event.payload
        try:
            unit = self.repository.get(unit_record_id(p["unit_id"]))
        except AggregateNotFoundError:
            return [UnitRecord.record(unit_id=p["unit_id"], name=p["name"], credit_code=p["credit_code"],
                                      caused_by=_cause(event))]
        return [unit] if unit.update(p["name"], p["credit_code"], _cause(event)) else []

    def on_application_submitted(self, event: IntegrationEvent) -> list:
        p = event.payload
        if p["submission_kind"] != REVISION or not p["answers_request"]:
            return []
        appraisal = self._appraisal_or_none(p["application_id"])
        if appraisal is None:
            return []
        deadline = self.deadline(appraisal.application_id, REVISION, p["answers_request"])
        on_time = deadline.meet(datetime.fromisoformat(p["submitted_at"]), caused_by=_cause(event)) \
            if deadline is not None else None
        if not appraisal.receive_revision(p["answers_request"], p["plan_version"], bool(on_time), _cause(event)):
            return []
        return [appraisal] + ([deadline] if deadline is not None else [])

    def on_application_withdrawn(self, event: IntegrationEvent) -> list:
        return self._close(event, f"the applicant withdrew the application: {event.payload['reason']}")

    def on_recommendation_withdrawn(self, event: IntegrationEvent) -> list:
        """Without its recommendation an application no longer stands, in expert review too."""
        return self._close(event, f"the recommending unit withdrew its recommendation: {event.payload['reason']}")

    def _close(self, event: IntegrationEvent, reason: str) -> list:
        appraisal = self._appraisal_or_none(event.application_id)
        if appraisal is None:
            return []
        revision = appraisal.current_revision
        if not appraisal.close(reason, _cause(event)):
            return []
        changed = [appraisal]
        if revision is not None:
            deadline = self.deadline(appraisal.application_id, REVISION, revision["request_id"])
            if deadline is not None and deadline.state in ("open", "missed"):
                deadline.cancel(reason, caused_by=_cause(event))
                changed.append(deadline)
        return changed

    def on_deadline_missed(self, deadline: Deadline) -> list:
        appraisal = self._appraisal_or_none(deadline.application_id)
        if appraisal is None:
            return []
        if deadline.kind == REVISION and appraisal.revision_overdue(deadline.request_id):
            return [appraisal]
        if deadline.kind == CONSTRUCTION_PLAN and appraisal.construction_plan_missed():
            return [appraisal]
        return []

    # --- the register ---------------------------------------------------------------------

    def register_expert(self, caller: Caller, data: dict) -> dict:
        caller.require_role("officer")
        _check_credit_code(data["organization"], "organization")
        if not regions.is_known_region(data["region"]):
            raise RuleViolation.of("region_known", f"{data['region']!r} is not a GB/T 2260 region", field="region")
        unknown = [f for f in data["fields"] if not catalogue.is_known_domain(f)]
        if unknown:
            raise RuleViolation.of("domain_known", f"not in the domain catalogue: {unknown}", field="fields",
                                   unknown=unknown)
        for conflict in data["conflicts"]:
            _check_credit_code(conflict["organization"], "conflicts.organization")

        def attempt():
            if self._expert_or_none(data["expert_id"]) is not None:
                raise ExpertAlreadyRegistered.of("expert_once", "an expert with this id is registered",
                                                 expert_id=data["expert_id"])
            expert = Expert.register(actor=caller.as_actor(), **data)
            self.save(expert)
            return expert

        return self.expert_view(retrying(attempt))

    def declare_conflict(self, caller: Caller, data: dict) -> dict:
        """The expert (for themself) or the officer records a conflict with an organization."""
        caller.require_role("expert", "officer")
        expert_id = data["expert_id"] or (caller.party_id if caller.role == "expert" else None)
        if expert_id is None:
            raise InvalidInput.for_fields({"expert_id": ["Required when the officer declares."]})
        if caller.role == "expert" and expert_id != caller.party_id:
            raise NotYourApplication("an expert declares only their own conflicts", {"expert_id": expert_id})
        _check_credit_code(data["organization"], "organization")

        def attempt():
            expert = self._expert(expert_id)
            expert.declare_conflict(data["organization"], data["reason"], caller.as_actor())
            self.save(expert)
            return expert

        return self.expert_view(retrying(attempt))

    def experts(self, caller: Caller, data: dict) -> list[dict]:
        caller.require_role(*READERS_OF_ALL)
        where, params = ["TRUE"], {"limit": data["limit"], "offset": data["offset"]}
        if data["field"]:
            where.append("fields ? :field")
            params["field"] = data["field"]
        if data["region"]:
            where.append("region = :region")
            params["region"] = data["region"]
        rows = self.query(
            "SELECT expert_id, name, organization, organization_name, region, fields, email, phone, conflicts"
            f" FROM experts WHERE {' AND '.join(where)} ORDER BY {order_by(data.get('sort'), 'expert_id')}"
            " LIMIT :limit OFFSET :offset", **params)
        return [_plain_row(r) for r in rows]

    def expert_view(self, expert: Expert) -> dict:
        return {**expert.summary(), "email": expert.email, "phone": expert.phone, "conflicts": expert.conflicts}

    # --- the applicant's avoidance list -------------------------------------------------------

    def request_avoidance(self, caller: Caller, data: dict) -> dict:
        caller.require_role("applicant")

        def attempt():
            appraisal = self._appraisal(data["application_id"])
            self._require_own(caller, appraisal)
            appraisal.request_avoidance(data["expert_id"], data["expert_name"], data["organization"],
                                        data["reason"], caller.as_actor())
            self.save(appraisal)
            return appraisal

        return self.review_view(retrying(attempt), caller)

    # --- panels ---------------------------------------------------------------------------

    def _panel_plan(self, data: dict):
        experts = {expert_id: self._expert(expert_id) for expert_id in data["members"]}
        appraisals = [self._appraisal(a) for a in data["application_ids"]]
        units = self._unit_codes({u for a in appraisals for u in (a.organizing_unit_id, a.recommending_unit_id)})
        exclusions = {
            a.application_id: {e: reasons for e in data["members"]
                               if (reasons := conflicts_of(experts[e], a, units))}
            for a in appraisals
        }
        return experts, appraisals, exclusions

    def check_panel(self, caller: Caller, data: dict) -> dict:
        """Who would judge what, and why an expert would be excluded; changes nothing."""
        caller.require_role("officer")
        experts, appraisals, exclusions = self._panel_plan(data)
        problems = []
        try:
            plan_panel(data["members"], data["chair"], exclusions)
        except InnobaseError as error:
            problems.append(error.to_dict())
        for appraisal in appraisals:
            if appraisal.state != AWAITING_PANEL:
                problems.append({"code": "wrong_stage", "message": f"the application is {appraisal.state}",
                                 "details": {"application_id": appraisal.application_id}})
        return {"applications": [self._plan_view(a.application_id, data["members"], exclusions, experts)
                                 for a in appraisals],
                "problems": problems}

    def form_panel(self, caller: Caller, data: dict) -> dict:
        caller.require_role("officer")
        if data["meeting_date"] <= clock.now():
            raise RuleViolation.of("meeting_in_future", "the meeting date must lie in the future",
                                   field="meeting_date")
        panel_id = uuid.uuid5(PANEL_NAMESPACE, f"{caller.party_id}:{data['request_id']}") \
            if data["request_id"] else uuid.uuid4()
        actor = caller.as_actor()

        def attempt():
            experts, appraisals, exclusions = self._panel_plan(data)
            plan = plan_panel(data["members"], data["chair"], exclusions)
            panel = Panel.form(panel_id=panel_id, meeting_date=data["meeting_date"], place=data["place"],
                               application_ids=[a.application_id for a in appraisals], members=data["members"],
                               chair=data["chair"], actor=actor)
            for appraisal in appraisals:
                appraisal.assign_panel(panel.id, data["meeting_date"], data["place"], actor)
                for expert_id in plan[appraisal.application_id]["eligible"]:
                    appraisal.assign(expert_id, expert_id == data["chair"], actor)
                for expert_id, reasons in plan[appraisal.application_id]["excluded"].items():
                    appraisal.exclude(expert_id, reasons, actor)
            self.save(panel, *appraisals)
            return panel, experts, exclusions

        panel, experts, exclusions = retrying(attempt)
        return {**panel.summary(), "applications": [
            self._plan_view(a, data["members"], exclusions, experts) for a in panel.application_ids]}

    def add_panel_member(self, caller: Caller, data: dict) -> dict:
        """A replacement after a decline: the new member judges the named applications (default:
        every application of the panel still under review), none of them with a conflict."""
        caller.require_role("officer")
        actor = caller.as_actor()

        def attempt():
            panel = self._panel(data["panel_id"])
            expert = self._expert(data["expert_id"])
            targets = [str(a) for a in data["application_ids"]] or [
                a for a in panel.application_ids if self._appraisal(a).state == UNDER_REVIEW]
            panel.add_member(expert.expert_id, targets, data["as_chair"], actor)
            appraisals = [self._appraisal(a) for a in targets]
            units = self._unit_codes({u for a in appraisals for u in (a.organizing_unit_id, a.recommending_unit_id)})
            for appraisal in appraisals:
                reasons = conflicts_of(expert, appraisal, units)
                if reasons:
                    raise ConflictOfInterest.of("no_conflict", "the expert has a conflict with this application",
                                                application_id=appraisal.application_id,
                                                expert_id=expert.expert_id, reasons=reasons)
                appraisal.assign(expert.expert_id, data["as_chair"], actor)
            self.save(panel, *appraisals)
            return panel

        return retrying(attempt).summary()

    def panel(self, caller: Caller, panel_id: uuid.UUID) -> dict:
        panel = self._panel(panel_id)
        if caller.role in READERS_OF_ALL:
            return panel.summary()
        caller.require_role(*READERS_OF_ALL, "expert")
        if caller.party_id not in panel.members:
            raise NotAssigned("you are not on this panel", {"panel_id": str(panel_id), "rule": "assigned"})
        mine = self.query("SELECT application_id FROM assignments WHERE panel_id = :p AND expert_id = :e"
                          " AND state = 'assigned'", p=panel_id, e=caller.party_id)
        return {**panel.summary(), "application_ids": [str(r["application_id"]) for r in mine]}

    def _plan_view(self, application_id: str, members: list[str], exclusions: dict, experts: dict) -> dict:
        excluded = exclusions.get(application_id, {})
        return {
            "application_id": application_id,
            "eligible": [m for m in members if m not in excluded],
            "excluded": [{"expert_id": e, "name": experts[e].name, "reasons": r} for e, r in excluded.items()],
        }

    # --- the experts' work ------------------------------------------------------------------

    def my_assignments(self, caller: Caller) -> list[dict]:
        caller.require_role("expert")
        rows = self.query(
            "SELECT a.application_id, a.panel_id, a.is_chair, a.state AS assignment, a.meeting_date, a.place,"
            " a.opinion_submitted, p.number, p.name, p.base_type, p.region, p.domain, p.applicant_name,"
            " p.plan_version, p.state FROM assignments a JOIN appraisals p USING (application_id)"
            " WHERE a.expert_id = :e ORDER BY a.meeting_date, a.application_id", e=caller.party_id)
        return [jsonable(r) for r in rows]

    def decline_assignment(self, caller: Caller, data: dict) -> dict:
        caller.require_role("expert")

        def attempt():
            appraisal = self._appraisal_for_expert(caller, data["application_id"])
            appraisal.decline_assignment(caller.party_id, data["reason_kind"], data["reason"], caller.as_actor())
            self.save(appraisal)
            return appraisal

        return self.review_view(retrying(attempt), caller)

    def submit_opinion(self, caller: Caller, data: dict) -> dict:
        caller.require_role("expert")
        scores = {d: data[d] for d in DIMENSIONS}

        def attempt():
            appraisal = self._appraisal_for_expert(caller, data["application_id"])
            appraisal.check_can_give_opinion(caller.party_id)
            opinion = Opinion.submit(application_id=appraisal.application_id, panel_id=appraisal.panel_id,
                                     expert_id=caller.party_id, scores=scores,
                                     recommendation=data["recommendation"], summary=data["summary"],
                                     actor=caller.as_actor())
            appraisal.record_opinion(caller.party_id, caller.as_actor())
            self.save(opinion, appraisal)
            return opinion

        return _opinion_view(retrying(attempt))

    def opinions(self, caller: Caller, application_id: uuid.UUID) -> dict:
        """Blind until one's own is in: an expert sees the others' opinions only after submitting."""
        appraisal = self._appraisal(application_id)
        rows = self.query("SELECT expert_id FROM opinions WHERE application_id = :a ORDER BY submitted_at",
                          a=application_id)
        opinions = [self.repository.get(opinion_id(appraisal.application_id, r["expert_id"])) for r in rows]
        answer = {"application_id": appraisal.application_id, "assigned": len(appraisal.active_experts()),
                  "submitted": len(opinions)}
        if caller.role in READERS_OF_ALL:
            return {**answer, "hidden": False, "opinions": [_opinion_view(o) for o in opinions],
                    "averages": _averages(opinions)}
        caller.require_role(*READERS_OF_ALL, "expert")
        appraisal.require_assigned(caller.party_id)
        if caller.party_id not in appraisal.opinions:
            return {**answer, "hidden": True, "opinions": [], "averages": None}
        return {**answer, "hidden": False, "opinions": [_opinion_view(o) for o in opinions],
                "averages": _averages(opinions)}

    def schedule_site_visit(self, caller: Caller, data: dict) -> dict:
        caller.require_role("officer")
        if data["visit_date"] <= clock.now():
            raise RuleViolation.of("visit_in_future", "the visit date must lie in the future", field="visit_date")
        return self._change(caller, data["application_id"],
                            lambda a: a.schedule_site_visit(data["visit_date"], data["place"], caller.as_actor()))

    def record_site_visit(self, caller: Caller, data: dict) -> dict:
        """The officer, or the panel's chair, records what the site visit found."""
        caller.require_role("officer", "expert")

        def record(appraisal):
            if caller.role == "expert":
                appraisal.require_chair(caller.party_id)
            appraisal.record_site_visit(data["findings"], caller.as_actor())

        return self._change(caller, data["application_id"], record)

    def conclude(self, caller: Caller, data: dict) -> dict:
        caller.require_role("expert")
        actor = caller.as_actor()

        def attempt():
            appraisal = self._appraisal_for_expert(caller, data["application_id"])
            appraisal.conclude(caller.party_id, data["conclusion"], data["text"], actor)
            changed = [appraisal]
            if data["conclusion"] == PASS_WITH_REVISIONS:
                changed.append(self._request_revision(appraisal, data["revision"], actor))
            self.save(*changed)
            return appraisal

        return self.review_view(retrying(attempt), caller)

    def request_revision(self, caller: Caller, data: dict) -> dict:
        """The chair asks for another round after looking at a revised version."""
        caller.require_role("expert")

        def attempt():
            appraisal = self._appraisal_for_expert(caller, data["application_id"])
            appraisal.require_chair(caller.party_id)
            deadline = self._request_revision(appraisal, data, caller.as_actor())
            self.save(appraisal, deadline)
            return appraisal

        return self.review_view(retrying(attempt), caller)

    def _request_revision(self, appraisal: Appraisal, revision: dict, actor: dict) -> Deadline:
        request_id = appraisal.next_request_id()
        deadline = Deadline.set(application_id=appraisal.application_id, kind=REVISION, request_id=request_id,
                                due=revision["deadline"], now=clock.now(), actor=actor)
        appraisal.request_revision(request_id, revision["sections"], revision["reason"], revision["deadline"],
                                   actor)
        return deadline

    def confirm_revision(self, caller: Caller, data: dict) -> dict:
        caller.require_role("expert")

        def attempt():
            appraisal = self._appraisal_for_expert(caller, data["application_id"])
            appraisal.confirm_revision(caller.party_id, data["note"], caller.as_actor())
            self.save(appraisal)
            return appraisal

        return self.review_view(retrying(attempt), caller)

    # --- the officer's deadlines and decisions --------------------------------------------------

    def extend_deadline(self, caller: Caller, data: dict) -> dict:
        caller.require_role("officer")
        actor = caller.as_actor()

        def attempt():
            appraisal = self._appraisal(data["application_id"])
            if data["kind"] == REVISION:
                request_id = data["request_id"] or (appraisal.current_revision or {}).get("request_id", "")
                appraisal.extend_revision(request_id, data["new_deadline"], data["reason"], actor)
            else:
                if appraisal.state != APPROVED:
                    raise RuleViolation.of("stage", "only an approved application has a construction plan due",
                                           state=appraisal.state)
                request_id = _construction_plan_request(appraisal)
                appraisal.extend_construction_plan(data["new_deadline"], data["reason"], actor)
            deadline = self.deadline(appraisal.application_id, data["kind"], request_id)
            deadline.extend(data["new_deadline"], data["reason"], clock.now(), actor)
            self.save(appraisal, deadline)
            return appraisal

        return self.review_view(retrying(attempt), caller)

    def approve(self, caller: Caller, data: dict) -> dict:
        """批准筹建, within the guide's limits; the construction plan falls due three months later."""
        caller.require_role("officer")
        actor = caller.as_actor()

        def attempt():
            appraisal = self._appraisal(data["application_id"])
            appraisal.check_approvable()
            scope = scope_of(appraisal.base_type, appraisal.region, appraisal.domain)
            changed, slot, second_reason = [appraisal], None, None
            if scope is not None:
                ordinals = range(1, (MAX_DOMAIN_BASES if appraisal.base_type == "domain" else 1) + 1)
                existing = [s for s in (self._slot_or_none(appraisal.base_type, scope, n) for n in ordinals) if s]
                ordinal = next_ordinal(appraisal.base_type, scope, existing, data["second_base_reason"])
                second_reason = data["second_base_reason"] if ordinal > 1 else None
                slot = BaseSlot.take(base_type=appraisal.base_type, scope=scope, ordinal=ordinal,
                                     application_id=appraisal.application_id, number=appraisal.number,
                                     name=appraisal.name, reason=second_reason, actor=actor)
                changed.append(slot)
            now = clock.now()
            due = appraisal.approve(data["reasons"], now, slot.describe() if slot else None, second_reason, actor)
            changed.append(Deadline.set(application_id=appraisal.application_id, kind=CONSTRUCTION_PLAN,
                                        request_id=_construction_plan_request(appraisal), due=due, now=now,
                                        actor=actor))
            self.save(*changed)
            return appraisal

        return self.review_view(retrying(attempt), caller)

    def decline(self, caller: Caller, data: dict) -> dict:
        caller.require_role("officer")
        actor = caller.as_actor()

        def attempt():
            appraisal = self._appraisal(data["application_id"])
            revision = appraisal.current_revision
            appraisal.decline_approval(data["reasons"], actor)
            changed = [appraisal]
            if revision is not None:
                deadline = self.deadline(appraisal.application_id, REVISION, revision["request_id"])
                if deadline is not None and deadline.state in ("open", "missed"):
                    deadline.cancel("SAC declined to approve", actor=actor)
                    changed.append(deadline)
            self.save(*changed)
            return appraisal

        return self.review_view(retrying(attempt), caller)

    def approved_bases(self, caller: Caller) -> list[dict]:
        caller.require_role(*READERS_OF_ALL)
        rows = self.query("SELECT base_type, scope, ordinal, application_id, number, name, reason, approved_at"
                          " FROM approved_bases ORDER BY approved_at")
        return [jsonable(r) for r in rows]

    # --- the construction plan (建设方案) ------------------------------------------------------

    def submit_construction_plan(self, caller: Caller, data: dict) -> dict:
        caller.require_role("organizing_unit")
        content = blobs.decode(data["content"])
        attachment = blobs.check(data["file_name"], content, caller.party_id)

        def attempt():
            appraisal = self._appraisal(data["application_id"])
            self._require_own(caller, appraisal)
            now = clock.now()
            deadline = self.deadline(appraisal.application_id, CONSTRUCTION_PLAN,
                                     _construction_plan_request(appraisal))
            appraisal.check_construction_plan_open()
            if deadline is not None:
                deadline.meet(now, actor=caller.as_actor())
            appraisal.submit_construction_plan(attachment.as_contract(), now, caller.as_actor())
            with self.transaction() as session:
                blobs.store(session, attachment, content)
                self.save(appraisal, *([deadline] if deadline is not None else []))
            return appraisal

        return self.review_view(retrying(attempt), caller)

    def construction_plan(self, caller: Caller, application_id: uuid.UUID) -> dict:
        appraisal = self._appraisal(application_id)
        if caller.role not in READERS_OF_ALL:
            caller.require_role(*READERS_OF_ALL, "organizing_unit")
            self._require_own(caller, appraisal)
        if appraisal.construction_plan is None:
            raise RuleViolation.of("construction_plan_submitted", "no construction plan is submitted yet")
        plan = appraisal.construction_plan["plan"]
        with self.transaction() as session:
            content = blobs.fetch(session, plan["sha256"])
        return {**plan, "content": base64.b64encode(content).decode("ascii"),
                "submitted_at": appraisal.construction_plan["submitted_at"].isoformat(),
                "on_time": appraisal.construction_plan["on_time"]}

    # --- queries ----------------------------------------------------------------------------

    def reviews(self, caller: Caller, data: dict) -> dict:
        caller.require_role(*READERS_OF_ALL)
        where, params = ["TRUE"], {"limit": data["limit"], "offset": data["offset"]}
        for column in ("state", "base_type"):
            if data[column] is not None:
                where.append(f"{column} = :{column}")
                params[column] = data[column]
        rows = self.query(
            "SELECT application_id, number, name, base_type, region, domain, applicant_name, plan_version, state,"
            " panel_id, meeting_date, conclusion, construction_plan_due, opened_at, updated_at FROM appraisals"
            f" WHERE {' AND '.join(where)} ORDER BY {order_by(data.get('sort'), 'opened_at, application_id')}"
            " LIMIT :limit OFFSET :offset",
            **params)
        counts = self.query("SELECT state, count(*) AS n FROM appraisals GROUP BY state")
        return {"items": [jsonable(r) for r in rows], "counts": {r["state"]: r["n"] for r in counts}}

    def review(self, caller: Caller, application_id: uuid.UUID) -> dict:
        appraisal = self._appraisal(application_id)
        if caller.role == "expert":
            appraisal.require_assigned(caller.party_id)
        elif caller.role not in READERS_OF_ALL:
            caller.require_role(*READERS_OF_ALL, "expert", *OWN_ORGANIZATION)
            self._require_own(caller, appraisal)
        return self.review_view(appraisal, caller)

    def review_view(self, appraisal: Appraisal, caller: Caller) -> dict:
        """What each party sees: SAC everything; an assigned expert the application and the panel's
        work; the applicant and its units the outcome, never who judged it."""
        concluded = appraisal.conclusion is not None
        view = {
            "application_id": appraisal.application_id, "number": appraisal.number, "name": appraisal.name,
            "base_type": appraisal.base_type, "region": appraisal.region, "domain": appraisal.domain,
            "applicant_name": appraisal.applicant_name, "plan_version": appraisal.plan_version,
            "state": appraisal.state,
            "conclusion": appraisal.conclusion if concluded else None,
            "conclusion_text": appraisal.conclusion_text if concluded else None,
            "revisions": [_revision_view(r) for r in appraisal.revisions],
            "decision": appraisal.decision and {k: v for k, v in appraisal.decision.items() if k != "slot"},
            "construction_plan_due": _iso(appraisal.construction_plan_due),
            "construction_plan": appraisal.construction_plan and {
                **appraisal.construction_plan["plan"], "on_time": appraisal.construction_plan["on_time"],
                "submitted_at": appraisal.construction_plan["submitted_at"].isoformat()},
            "construction_plan_overdue": appraisal.construction_plan_overdue,
            "version": appraisal.version,
        }
        site_visit = appraisal.site_visit and {**appraisal.site_visit,
                                               "visit_date": appraisal.site_visit["visit_date"].isoformat()}
        if caller.role in ("officer", "auditor", "expert"):
            view.update(panel_id=appraisal.panel_id, meeting_date=_iso(appraisal.meeting_date),
                        place=appraisal.place, site_visit=site_visit, chair=appraisal.chair)
        else:
            view["site_visit"] = site_visit and {k: v for k, v in site_visit.items() if k != "findings"}
        if caller.role == "expert":
            view["my_assignment"] = appraisal.assignments.get(caller.party_id)
            view["my_opinion_submitted"] = caller.party_id in appraisal.opinions
        if caller.role in READERS_OF_ALL:
            view.update(
                applicant_organization=appraisal.applicant_organization,
                organizing_unit_id=appraisal.organizing_unit_id,
                recommending_unit_id=appraisal.recommending_unit_id,
                avoidances=appraisal.avoidances, assignments=appraisal.assignments,
                exclusions=appraisal.exclusions, opinions_submitted=appraisal.opinions,
                closed_reason=appraisal.closed_reason, approved_slot=(appraisal.decision or {}).get("slot"),
                deadlines=[jsonable(d) for d in self.deadlines_of(appraisal.application_id)],
            )
        return view

    # --- published facts --------------------------------------------------------------------

    def integration_event(self, domain_event):
        deadline_fact = self.deadline_integration_event(domain_event)
        if deadline_fact is not None:
            return deadline_fact
        e, name = domain_event, type(domain_event).__name__
        if name == "Registered":
            return "ExpertRegistered", 1, {
                "expert_id": e.expert_id, "name": e.name, "organization": e.organization,
                "organization_name": e.organization_name, "region": e.region, "fields": e.fields,
                "email": e.email, "phone": e.phone}
        if name == "Formed":
            return "PanelFormed", 1, {
                "panel_id": e.originator_id, "meeting_date": e.meeting_date, "place": e.place,
                "application_ids": e.application_ids,
                "members": [{"expert_id": m, "is_chair": m == e.chair} for m in e.members]}
        if name == "ExpertAssigned":
            return "ExpertAssigned", 1, _fields(e, "application_id", "panel_id", "expert_id", "is_chair",
                                                "meeting_date", "place")
        if name == "ExpertDeclined":
            return "ExpertDeclined", 1, _fields(e, "application_id", "panel_id", "expert_id", "reason_kind",
                                                "reason")
        if name == "Submitted":
            return "OpinionSubmitted", 1, _fields(e, "application_id", "panel_id", "expert_id")
        if name == "SiteVisitScheduled":
            return "SiteVisitScheduled", 1, _fields(e, "application_id", "visit_date", "place")
        if name == "SiteVisitRecorded":
            return "SiteVisitRecorded", 1, _fields(e, "application_id", "findings")
        if name == "Concluded":
            return "PanelConcluded", 1, _fields(e, "application_id", "panel_id", "conclusion", "text")
        if name == "RevisionRequested":
            return "RevisionRequested", 1, _fields(e, "application_id", "request_id", "sections", "reason",
                                                   "deadline")
        if name == "RevisionConfirmed":
            return "RevisionConfirmed", 1, _fields(e, "application_id", "request_id", "plan_version")
        if name == "Approved":
            return "ApplicationApproved", 1, _fields(e, "application_id", "number", "base_type", "region", "domain",
                                                     "organizing_unit_id", "construction_plan_due", "reasons")
        if name == "ApprovalDeclined":
            return "ApplicationDeclined", 1, _fields(e, "application_id", "number", "reasons")
        if name == "ConstructionPlanSubmitted":
            return "ConstructionPlanSubmitted", 1, _fields(e, "application_id", "organizing_unit_id", "plan",
                                                           "on_time")
        return None

    # --- read models ------------------------------------------------------------------------

    def _project_expert(self, session, event, position: int) -> None:
        session.execute(
            text("INSERT INTO experts (expert_id, name, organization, organization_name, region, fields, email,"
                 " phone, conflicts, registered_at, position) VALUES (:id, :name, :org, :org_name, :region,"
                 " :fields, :email, :phone, :conflicts, :at, :position) ON CONFLICT (expert_id) DO NOTHING"),
            {"id": event.expert_id, "name": event.name, "org": event.organization,
             "org_name": event.organization_name, "region": event.region, "fields": json.dumps(event.fields),
             "email": event.email, "phone": event.phone,
             "conflicts": json.dumps(event.conflicts, ensure_ascii=False), "at": event.timestamp,
             "position": position})

    def _project_conflict(self, session, event, position: int) -> None:
        session.execute(
            text("UPDATE experts SET conflicts = conflicts || CAST(:c AS jsonb), position = :position"
                 " WHERE expert_id = :expert"),
            {"c": json.dumps([{"organization": event.organization, "reason": event.reason}], ensure_ascii=False),
             "position": position, "expert": event.expert_id})

    def _project_unit(self, session, event, position: int) -> None:
        session.execute(
            text("INSERT INTO units (unit_id, name, credit_code, position) VALUES (:id, :name, :code, :position)"
                 " ON CONFLICT (unit_id) DO UPDATE SET name = :name, credit_code = :code, position = :position"),
            {"id": event.unit_id, "name": event.name, "code": event.credit_code, "position": position})

    def _project_opened(self, session, event, position: int) -> None:
        session.execute(
            text("INSERT INTO appraisals (application_id, number, name, base_type, region, domain,"
                 " applicant_organization, applicant_name, organizing_unit_id, recommending_unit_id, plan_version,"
                 " state, opened_at, updated_at, position) VALUES (:a, :number, :name, :base_type, :region, :domain,"
                 " :org, :applicant, :ou, :ru, :v, 'awaiting_panel', :at, :at, :position)"),
            {"a": event.application_id, "number": event.number, "name": event.name, "base_type": event.base_type,
             "region": event.region, "domain": event.domain, "org": event.applicant_organization,
             "applicant": event.applicant_name, "ou": event.organizing_unit_id, "ru": event.recommending_unit_id,
             "v": event.plan_version, "at": event.timestamp, "position": position})

    def _project_appraisal(self, session, event, position: int) -> None:
        name = type(event).__name__
        columns = {"updated_at": event.timestamp, "position": position}
        if name in APPRAISAL_STATE_AFTER:
            columns["state"] = APPRAISAL_STATE_AFTER[name]
        if name == "PanelAssigned":
            columns.update(panel_id=event.panel_id, meeting_date=event.meeting_date)
        elif name == "Concluded":
            columns["conclusion"] = event.conclusion
        elif name == "RevisionReceived":
            columns["plan_version"] = event.plan_version
        elif name == "Approved":
            columns["construction_plan_due"] = event.construction_plan_due
        elif name == "ConstructionPlanDeadlineExtended":
            columns["construction_plan_due"] = event.new_deadline
        assignments = ", ".join(f"{column} = :{column}" for column in columns)
        session.execute(text(f"UPDATE appraisals SET {assignments} WHERE application_id = :application_id"),
                        {**columns, "application_id": event.application_id})

    def _project_assigned(self, session, event, position: int) -> None:
        session.execute(
            text("INSERT INTO assignments (application_id, expert_id, panel_id, is_chair, state, meeting_date, place,"
                 " assigned_at, position) VALUES (:a, :e, :p, :chair, 'assigned', :date, :place, :at, :position)"),
            {"a": event.application_id, "e": event.expert_id, "p": event.panel_id, "chair": event.is_chair,
             "date": event.meeting_date, "place": event.place, "at": event.timestamp, "position": position})

    def _project_declined(self, session, event, position: int) -> None:
        session.execute(text("UPDATE assignments SET state = 'declined', position = :position"
                             " WHERE application_id = :a AND expert_id = :e"),
                        {"a": event.application_id, "e": event.expert_id, "position": position})

    def _project_opinion(self, session, event, position: int) -> None:
        total = round(sum(s["score"] for s in event.scores.values()) / len(DIMENSIONS), 1)
        session.execute(
            text("INSERT INTO opinions (application_id, expert_id, panel_id, scores, total, recommendation, summary,"
                 " submitted_at, position) VALUES (:a, :e, :p, :scores, :total, :rec, :summary, :at, :position)"),
            {"a": event.application_id, "e": event.expert_id, "p": event.panel_id,
             "scores": json.dumps(event.scores, ensure_ascii=False), "total": total,
             "rec": event.recommendation, "summary": event.summary, "at": event.timestamp, "position": position})
        session.execute(text("UPDATE assignments SET opinion_submitted = true WHERE application_id = :a"
                             " AND expert_id = :e"), {"a": event.application_id, "e": event.expert_id})

    def _project_panel(self, session, event, position: int) -> None:
        session.execute(
            text("INSERT INTO panels (panel_id, meeting_date, place, application_ids, members, chair, formed_at,"
                 " position) VALUES (:p, :date, :place, :apps, :members, :chair, :at, :position)"),
            {"p": event.originator_id, "date": event.meeting_date, "place": event.place,
             "apps": json.dumps(event.application_ids), "members": json.dumps(event.members),
             "chair": event.chair, "at": event.timestamp, "position": position})

    def _project_member(self, session, event, position: int) -> None:
        session.execute(text("UPDATE panels SET members = members || CAST(:m AS jsonb), position = :position"
                             " WHERE panel_id = :p"),
                        {"m": json.dumps([event.expert_id]), "position": position, "p": event.originator_id})

    def _project_slot(self, session, event, position: int) -> None:
        session.execute(
            text("INSERT INTO approved_bases (slot_id, base_type, scope, ordinal, application_id, number, name,"
                 " reason, approved_at, position) VALUES (:s, :t, :scope, :o, :a, :n, :name, :reason, :at,"
                 " :position)"),
            {"s": event.originator_id, "t": event.base_type, "scope": event.scope, "o": event.ordinal,
             "a": event.application_id, "n": event.number, "name": event.name, "reason": event.reason,
             "at": event.timestamp, "position": position})

    # --- access -----------------------------------------------------------------------------

    def _appraisal_or_none(self, application_id) -> Appraisal | None:
        try:
            return self.repository.get(appraisal_id(application_id))
        except AggregateNotFoundError:
            return None

    def _appraisal(self, application_id) -> Appraisal:
        appraisal = self._appraisal_or_none(application_id)
        if appraisal is None:
            raise ApplicationNotFound("no application in expert review with this id",
                                      {"application_id": str(application_id)})
        preconditions.check(appraisal)  # a command sent with the version the caller read (If-Match)
        return appraisal

    def _appraisal_for_expert(self, caller: Caller, application_id) -> Appraisal:
        appraisal = self._appraisal(application_id)
        appraisal.require_assigned(caller.party_id)
        return appraisal

    def _require_own(self, caller: Caller, appraisal: Appraisal) -> None:
        column = OWN_ORGANIZATION.get(caller.role)
        if column is None or getattr(appraisal, column) != caller.organization:
            raise NotYourApplication("this application is not yours",
                                     {"application_id": appraisal.application_id})

    def _change(self, caller: Caller, application_id, change) -> dict:
        def attempt():
            appraisal = self._appraisal(application_id)
            change(appraisal)
            self.save(appraisal)
            return appraisal

        return self.review_view(retrying(attempt), caller)

    def _expert_or_none(self, expert_id: str) -> Expert | None:
        try:
            return self.repository.get(expert_aggregate_id(expert_id))
        except AggregateNotFoundError:
            return None

    def _expert(self, expert_id: str) -> Expert:
        expert = self._expert_or_none(expert_id)
        if expert is None:
            raise ExpertNotFound("no such expert in the register", {"expert_id": expert_id})
        return expert

    def _panel(self, panel_id) -> Panel:
        try:
            return self.repository.get(panel_id)
        except AggregateNotFoundError:
            raise PanelNotFound("no such panel", {"panel_id": str(panel_id)}) from None

    def _slot_or_none(self, base_type: str, scope: str, ordinal: int) -> BaseSlot | None:
        try:
            return self.repository.get(slot_id(base_type, scope, ordinal))
        except AggregateNotFoundError:
            return None

    def _unit_codes(self, unit_ids: set[str]) -> dict[str, str | None]:
        if not unit_ids:
            return {}
        rows = self.query("SELECT unit_id, credit_code FROM units WHERE unit_id = ANY(:ids)", ids=list(unit_ids))
        return {r["unit_id"]: r["credit_code"] for r in rows}


def _construction_plan_request(appraisal: Appraisal) -> str:
    return str(uuid.uuid5(appraisal.id, "construction-plan"))


def _check_credit_code(code: str, field: str) -> None:
    problems = check_credit_code(code)
    if problems:
        raise RuleViolation.of("credit_code", problems[0].message, field=field,
                               problems=[{"rule": p.rule, "message": p.message} for p in problems])


def _cause(event: IntegrationEvent) -> dict:
    return {"source": event.source, "position": event.position}


def _fields(domain_event, *names) -> dict:
    return {name: getattr(domain_event, name) for name in names}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _plain_row(row: dict) -> dict:
    return {k: v if isinstance(v, (list, dict)) else jsonable({k: v})[k] for k, v in row.items()}


def _opinion_view(opinion: Opinion) -> dict:
    return {"application_id": opinion.application_id, "expert_id": opinion.expert_id,
            "panel_id": opinion.panel_id, "scores": opinion.scores, "total": opinion.total,
            "recommendation": opinion.recommendation, "summary": opinion.summary,
            "submitted_at": opinion.created_on.isoformat()}


def _averages(opinions: list[Opinion]) -> dict | None:
    if not opinions:
        return None
    averages = {d: round(sum(o.scores[d]["score"] for o in opinions) / len(opinions), 1) for d in DIMENSIONS}
    averages["total"] = round(sum(o.total for o in opinions) / len(opinions), 1)
    return averages


def _revision_view(revision: dict) -> dict:
    return {**revision, "deadline": revision["deadline"].isoformat(),
            "extensions": [{"from": e["from"].isoformat(), "to": e["to"].isoformat(), "reason": e["reason"]}
                           for e in revision["extensions"]]}
