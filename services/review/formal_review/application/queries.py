"""What formal review answers: SAC's list of cases with counts by state, a case as the
officer or as the applicant and its units see it, and its checklist."""
from __future__ import annotations

import uuid

from shared.auth import Caller
from shared.errors import NotYourApplication
from shared.eventstore import jsonable
from shared.listing import order_by
from services.review.formal_review.domain import Case, evaluate_checklist

READERS_OF_ALL = ("officer", "auditor")
# Which token organization makes a party one of the application's own.
OWN_ORGANIZATION = {"applicant": "applicant_organization", "organizing_unit": "organizing_unit_id",
                    "recommending_unit": "recommending_unit_id"}


class Queries:
    """Mixed into `FormalReview`: reads of the cases and the read model; none changes anything."""

    def cases(self, caller: Caller, data: dict) -> dict:
        """SAC's list of formal review cases, oldest first, with counts by state."""
        caller.require_role(*READERS_OF_ALL)
        where, params = ["TRUE"], {"limit": data["limit"], "offset": data["offset"]}
        for column in ("state", "base_type", "year"):
            if data.get(column) is not None:
                where.append(f"{column} = :{column}")
                params[column] = data[column]
        rows = self.query(
            "SELECT application_id, number, year, base_type, name, applicant_name, region, domain,"
            " plan_version, state, open_request_id, deadline, opened_at, updated_at FROM formal_cases"
            f" WHERE {' AND '.join(where)} ORDER BY {order_by(data.get('sort'), 'opened_at, application_id')}"
            " LIMIT :limit OFFSET :offset",
            **params,
        )
        counts = self.query("SELECT state, count(*) AS n FROM formal_cases GROUP BY state")
        return {"items": [jsonable(r) for r in rows], "counts": {r["state"]: r["n"] for r in counts}}

    def case(self, caller: Caller, application_id: uuid.UUID) -> dict:
        case = self._case(application_id)
        if caller.role in READERS_OF_ALL:
            return self.case_view(case, full=True)
        column = OWN_ORGANIZATION.get(caller.role)
        if column is None:
            caller.require_role(*READERS_OF_ALL, *OWN_ORGANIZATION)
        if getattr(case, column) != caller.organization:
            raise NotYourApplication("this application is not yours", {"application_id": str(application_id)})
        return self.case_view(case, full=False)

    def checklist(self, case: Case) -> list[dict]:
        versions = self.query(
            "SELECT plan_version, changed_sections, qualification_items, attachments FROM plan_versions"
            " WHERE application_id = :a AND plan_version <= :v ORDER BY plan_version",
            a=case.application_id, v=case.plan_version,
        )
        scans = {"stamped_plan_scan": case.stamped_plan_scan, "recommendation_letter": case.recommendation_letter}
        return evaluate_checklist(case.base_type, versions, scans, case.findings)

    def case_view(self, case: Case, full: bool) -> dict:
        """The case as the officer sees it (`full`), or as the applicant and its units do."""
        requests = [
            {"request_id": r["request_id"], "items": r["items"], "sections": r["sections"], "reason": r["reason"],
             "deadline": r["deadline"].isoformat(), "state": r["state"],
             "answered_version": r["answered_version"], "on_time": r["on_time"],
             "extensions": [{"from": e["from"].isoformat(), "to": e["to"].isoformat(), "reason": e["reason"]}
                            for e in r["extensions"]]}
            for r in case.requests
        ]
        view = {
            "application_id": case.application_id, "number": case.number, "name": case.name,
            "base_type": case.base_type, "year": case.year, "state": case.state,
            "plan_version": case.plan_version, "supplement_requests": requests,
            "reasons": case.reasons,
            "informed": {k: {**v, "informed_at": v["informed_at"].isoformat()} for k, v in case.informed.items()},
            "version": case.version,
        }
        if full:
            view.update({
                "case_id": str(case.id), "region": case.region, "domain": case.domain,
                "applicant_organization": case.applicant_organization, "applicant_name": case.applicant_name,
                "organizing_unit_id": case.organizing_unit_id, "recommending_unit_id": case.recommending_unit_id,
                "digest": case.digest, "stamped_plan_scan": case.stamped_plan_scan,
                "recommendation_letter": case.recommendation_letter, "recommended_at": case.recommended_at,
                "checklist": self.checklist(case), "closed_reason": case.closed_reason,
                "deadlines": [jsonable(d) for d in self.deadlines_of(case.application_id)],
            })
        return view
