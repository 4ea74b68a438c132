"""What expert review answers: the register of experts, a panel, an expert's
assignments, the opinions (blind until one's own is in), the reviews and each as its
party may see it, the approved bases and a submitted construction plan."""
from __future__ import annotations

import base64
import uuid
from datetime import datetime

from shared import blobs
from shared.auth import Caller
from shared.contracts.review import DIMENSIONS
from shared.errors import RuleViolation
from shared.eventstore import jsonable
from shared.listing import order_by
from services.review.errors import NotAssigned
from services.review.expert_review.application.access import OWN_ORGANIZATION, READERS_OF_ALL
from services.review.expert_review.domain import Appraisal, Expert, Opinion, opinion_id


class Queries:
    """Mixed into `ExpertReview`: reads of the aggregates and of the read model; none changes
    anything."""

    # --- the register and panels ------------------------------------------------------------

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

    # --- the experts' work ------------------------------------------------------------------

    def my_assignments(self, caller: Caller) -> list[dict]:
        caller.require_role("expert")
        rows = self.query(
            "SELECT a.application_id, a.panel_id, a.is_chair, a.state AS assignment, a.meeting_date, a.place,"
            " a.opinion_submitted, p.number, p.name, p.base_type, p.region, p.domain, p.applicant_name,"
            " p.plan_version, p.state FROM assignments a JOIN appraisals p USING (application_id)"
            " WHERE a.expert_id = :e ORDER BY a.meeting_date, a.application_id", e=caller.party_id)
        return [jsonable(r) for r in rows]

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

    # --- decisions and the construction plan ------------------------------------------------

    def approved_bases(self, caller: Caller) -> list[dict]:
        caller.require_role(*READERS_OF_ALL)
        rows = self.query("SELECT base_type, scope, ordinal, application_id, number, name, reason, approved_at"
                          " FROM approved_bases ORDER BY approved_at")
        return [jsonable(r) for r in rows]

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

    # --- the reviews ------------------------------------------------------------------------

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
