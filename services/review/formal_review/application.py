"""Formal review's event-sourced application: cases opened by recommendations, the
officer's commands, the supplement deadline, and what the other services learn."""
from __future__ import annotations

import json
import logging
import uuid
from datetime import datetime

from eventsourcing.application import AggregateNotFoundError
from sqlalchemy import text

from services.review.common import retrying
from services.review.deadlines import DEADLINES_DDL, Deadline, DeadlineKeeper
from services.review.formal_review.domain import (
    Case,
    NumberSequence,
    PlanVersion,
    case_id,
    evaluate_checklist,
    sequence_id,
)
from shared import clock, preconditions
from shared.auth import Caller
from shared.contracts import IntegrationEvent
from shared.errors import ApplicationNotFound, InvalidInput, NotYourApplication
from shared.eventstore import ServiceApplication, jsonable
from shared.listing import order_by

log = logging.getLogger(__name__)

SUPPLEMENT = "supplement"
READERS_OF_ALL = ("officer", "auditor")
# Which token organization makes a party one of the application's own.
OWN_ORGANIZATION = {"applicant": "applicant_organization", "organizing_unit": "organizing_unit_id",
                    "recommending_unit": "recommending_unit_id"}
WITHDRAWN_RECOMMENDATION = "the recommending unit withdrew its recommendation: {reason}"
WITHDRAWN_APPLICATION = "the applicant withdrew the application: {reason}"
CASE_STATE_AFTER = {
    "Opened": "received", "Accepted": "under_review", "SupplementRequested": "awaiting_supplement",
    "SupplementReceived": "under_review", "SupplementOverdue": "supplement_overdue",
    "SupplementDeadlineExtended": "awaiting_supplement", "Passed": "passed",
    "FoundInadmissible": "found_inadmissible", "Closed": "closed",
}


class FormalReview(DeadlineKeeper, ServiceApplication):
    name = "FormalReview"
    service = "formal_review"
    read_model_tables = ("formal_cases", "plan_versions", "deadlines")
    read_model_ddl = """
    CREATE TABLE IF NOT EXISTS formal_cases (
        case_id uuid PRIMARY KEY,
        application_id uuid NOT NULL UNIQUE,
        number text UNIQUE,
        year int NOT NULL,
        base_type text NOT NULL,
        name text NOT NULL,
        applicant_organization text NOT NULL,
        applicant_name text NOT NULL,
        organizing_unit_id text NOT NULL,
        recommending_unit_id text NOT NULL,
        region text,
        domain text,
        plan_version int NOT NULL,
        state text NOT NULL,
        open_request_id text,
        deadline timestamptz,
        opened_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        position bigint NOT NULL
    );
    CREATE INDEX IF NOT EXISTS formal_cases_by_state ON formal_cases (state, opened_at);
    CREATE TABLE IF NOT EXISTS plan_versions (
        application_id uuid NOT NULL,
        plan_version int NOT NULL,
        digest text NOT NULL,
        submission_kind text NOT NULL,
        answers_request text,
        changed_sections jsonb NOT NULL,
        qualification_items jsonb NOT NULL,
        attachments jsonb NOT NULL,
        submitted_at timestamptz NOT NULL,
        position bigint NOT NULL,
        PRIMARY KEY (application_id, plan_version)
    );
    """ + DEADLINES_DDL
    reactions = {
        ("endorsement", "ApplicationRecommended"): "on_application_recommended",
        ("endorsement", "RecommendationWithdrawn"): "on_recommendation_withdrawn",
        ("intake", "ApplicationSubmitted"): "on_application_submitted",
        ("intake", "ApplicationWithdrawn"): "on_application_withdrawn",
    }
    projections = {
        **DeadlineKeeper.DEADLINE_PROJECTIONS,
        "Received": "_project_plan_version",
        "Opened": "_project_opened",
        "Reopened": "_project_reopened",
        **{name: "_project_case" for name in CASE_STATE_AFTER if name != "Opened"},
        "FindingRecorded": "_project_case",
        "ApplicantInformed": "_project_case",
    }

    # --- reactions ---------------------------------------------------------------------

    def on_application_recommended(self, event: IntegrationEvent) -> list:
        p = event.payload
        recommendation = dict(
            application_id=p["application_id"], plan_version=p["plan_version"], digest=p["digest"],
            name=p["name"], base_type=p["base_type"], region=p["region"], domain=p["domain"],
            applicant_organization=p["applicant_organization"], applicant_name=p["applicant_name"],
            organizing_unit_id=p["organizing_unit_id"], recommending_unit_id=p["recommending_unit_id"],
            year=p["year"], stamped_plan_scan=p["stamped_plan_scan"],
            recommendation_letter=p["recommendation_letter"], recommended_at=p["recommended_at"],
        )
        cause = _cause(event)
        case = self._case_or_none(p["application_id"])
        if case is None:
            return [Case.open(caused_by=cause, **recommendation)]
        if case.reopen(cause, **recommendation):
            return [case]
        log.warning("formal_review: %s recommended again while its case is %s; nothing changes",
                    p["application_id"], case.state)
        return []

    def on_recommendation_withdrawn(self, event: IntegrationEvent) -> list:
        reason = WITHDRAWN_RECOMMENDATION.format(reason=event.payload["reason"])
        return self._close(event, reason)

    def on_application_withdrawn(self, event: IntegrationEvent) -> list:
        reason = WITHDRAWN_APPLICATION.format(reason=event.payload["reason"])
        return self._close(event, reason)

    def _close(self, event: IntegrationEvent, reason: str) -> list:
        case = self._case_or_none(event.application_id)
        if case is None:
            return []
        request = case.open_request
        if not case.close(reason, _cause(event)):
            return []
        changed = [case]
        if request is not None:
            deadline = self.deadline(case.application_id, SUPPLEMENT, request["request_id"])
            if deadline is not None:
                deadline.cancel(reason, caused_by=_cause(event))
                changed.append(deadline)
        return changed

    def on_application_submitted(self, event: IntegrationEvent) -> list:
        p = event.payload
        version = PlanVersion.receive(
            caused_by=_cause(event), application_id=p["application_id"], plan_version=p["plan_version"],
            digest=p["digest"], name=p["name"], submission_kind=p["submission_kind"],
            answers_request=p["answers_request"], changed_sections=p["changed_sections"],
            qualification_items=p["qualification_items"], attachments=p["attachments"],
            submitted_at=p["submitted_at"],
        )
        changed: list = [version]
        if p["submission_kind"] != SUPPLEMENT or not p["answers_request"]:
            return changed
        case = self._case_or_none(p["application_id"])
        if case is None:
            return changed
        deadline = self.deadline(case.application_id, SUPPLEMENT, p["answers_request"])
        submitted_at = datetime.fromisoformat(p["submitted_at"])
        on_time = deadline.meet(submitted_at, caused_by=_cause(event)) if deadline is not None else None
        if case.receive_supplement(p["answers_request"], p["plan_version"], p["digest"], p["name"],
                                   bool(on_time), _cause(event)):
            changed.append(case)
            if deadline is not None:
                changed.append(deadline)
        return changed

    def on_deadline_missed(self, deadline: Deadline) -> list:
        if deadline.kind != SUPPLEMENT:
            return []
        case = self._case_or_none(deadline.application_id)
        if case is not None and case.supplement_overdue(deadline.request_id, deadline.due):
            return [case]
        return []

    # --- the officer's commands --------------------------------------------------------

    def accept(self, caller: Caller, application_id: uuid.UUID) -> dict:
        """Accept the case and give it the next official number of its year and base type."""
        caller.require_role("officer")

        def attempt():
            case = self._case(application_id)
            case.check_acceptable()
            sequence = self._sequence_or_none(case.year, case.base_type) or NumberSequence.start(
                case.year, case.base_type)
            case.accept(sequence.issue(case.application_id, caller.as_actor()), caller.as_actor())
            self.save(sequence, case)
            return case

        return self.case_view(retrying(attempt), full=True)

    def record_finding(self, caller: Caller, data: dict) -> dict:
        caller.require_role("officer")

        def attempt():
            case = self._case(data["application_id"])
            case.record_finding(data["item"], data["finding"], data["note"], caller.as_actor())
            self.save(case)
            return case

        return self.case_view(retrying(attempt), full=True)

    def request_supplement(self, caller: Caller, data: dict) -> dict:
        caller.require_role("officer")

        def attempt():
            case = self._case(data["application_id"])
            request_id = case.next_request_id()
            case.request_supplement(request_id, data["items"], data["sections"], data["reason"],
                                    data["deadline"], caller.as_actor())
            deadline = Deadline.set(application_id=case.application_id, kind=SUPPLEMENT, request_id=request_id,
                                    due=data["deadline"], now=clock.now(), actor=caller.as_actor())
            self.save(case, deadline)
            return case

        return self.case_view(retrying(attempt), full=True)

    def extend_deadline(self, caller: Caller, data: dict) -> dict:
        """After a miss (or before one), the officer gives more time, with a reason."""
        caller.require_role("officer")

        def attempt():
            case = self._case(data["application_id"])
            case.extend_supplement(data["request_id"], data["new_deadline"], data["reason"], caller.as_actor())
            deadline = self.deadline(case.application_id, SUPPLEMENT, data["request_id"])
            deadline.extend(data["new_deadline"], data["reason"], clock.now(), caller.as_actor())
            self.save(case, deadline)
            return case

        return self.case_view(retrying(attempt), full=True)

    def pass_review(self, caller: Caller, data: dict) -> dict:
        caller.require_role("officer")

        def attempt():
            case = self._case(data["application_id"])
            case.pass_review(self.checklist(case), data["note"], caller.as_actor())
            self.save(case)
            return case

        return self.case_view(retrying(attempt), full=True)

    def reject(self, caller: Caller, data: dict) -> dict:
        """Find the application inadmissible, with reasons; an open supplement deadline is cancelled."""
        caller.require_role("officer")

        def attempt():
            case = self._case(data["application_id"])
            request = case.open_request
            case.reject(data["reasons"], caller.as_actor())
            changed = [case]
            if request is not None:
                deadline = self.deadline(case.application_id, SUPPLEMENT, request["request_id"])
                if deadline is not None:
                    deadline.cancel("the application was found inadmissible", actor=caller.as_actor())
                    changed.append(deadline)
            self.save(*changed)
            return case

        return self.case_view(retrying(attempt), full=True)

    def record_applicant_informed(self, caller: Caller, data: dict) -> dict:
        caller.require_role("officer")
        informed_at = data["informed_at"] or clock.now()
        if informed_at > clock.now():
            raise InvalidInput.for_fields({"informed_at": ["Must not lie in the future."]})

        def attempt():
            case = self._case(data["application_id"])
            case.record_informed(data["decision"], informed_at, data["channel"], data["note"], caller.as_actor())
            self.save(case)
            return case

        return self.case_view(retrying(attempt), full=True)

    # --- queries ------------------------------------------------------------------------

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

    # --- published facts ----------------------------------------------------------------

    def integration_event(self, domain_event):
        deadline_fact = self.deadline_integration_event(domain_event)
        if deadline_fact is not None:
            return deadline_fact
        name = type(domain_event).__name__
        e = domain_event
        if name == "Opened":
            return "FormalReviewOpened", 1, {"application_id": e.application_id, "case_id": e.originator_id,
                                             "plan_version": e.plan_version, "name": e.name,
                                             "base_type": e.base_type}
        if name == "Reopened":
            r = e.recommendation
            return "FormalReviewOpened", 1, {"application_id": r["application_id"], "case_id": e.originator_id,
                                             "plan_version": r["plan_version"], "name": r["name"],
                                             "base_type": r["base_type"]}
        if name == "Accepted":
            return "ApplicationAccepted", 1, {"application_id": e.application_id, "number": e.number,
                                              "year": e.year, "base_type": e.base_type}
        if name == "SupplementRequested":
            return "SupplementRequested", 1, {
                "application_id": e.application_id, "request_id": e.request_id, "items": e.items,
                "sections": e.sections, "reason": e.reason, "deadline": e.deadline}
        if name == "SupplementReceived":
            return "SupplementReceived", 1, {"application_id": e.application_id, "request_id": e.request_id,
                                             "plan_version": e.plan_version}
        if name == "Passed":
            return "FormalReviewPassed", 1, {
                k: getattr(e, k) for k in (
                    "application_id", "number", "plan_version", "name", "base_type", "region", "domain",
                    "applicant_organization", "applicant_name", "organizing_unit_id", "recommending_unit_id")}
        if name == "FoundInadmissible":
            return "ApplicationFoundInadmissible", 1, {"application_id": e.application_id, "number": e.number,
                                                       "reasons": e.reasons}
        if name == "ApplicantInformed":
            return "ApplicantInformed", 1, {"application_id": e.application_id, "decision": e.decision,
                                            "informed_at": e.informed_at}
        return None

    # --- read model ---------------------------------------------------------------------

    def _project_plan_version(self, session, event, position: int) -> None:
        session.execute(
            text(
                "INSERT INTO plan_versions (application_id, plan_version, digest, submission_kind, answers_request,"
                " changed_sections, qualification_items, attachments, submitted_at, position) VALUES (:a, :v, :d,"
                " :kind, :answers, :sections, :items, :attachments, :at, :position)"
                " ON CONFLICT (application_id, plan_version) DO NOTHING"
            ),
            {"a": event.application_id, "v": event.plan_version, "d": event.digest, "kind": event.submission_kind,
             "answers": event.answers_request, "sections": json.dumps(event.changed_sections),
             "items": json.dumps(event.qualification_items, ensure_ascii=False),
             "attachments": json.dumps(event.attachments, ensure_ascii=False), "at": event.submitted_at,
             "position": position},
        )

    def _project_opened(self, session, event, position: int) -> None:
        session.execute(
            text(
                "INSERT INTO formal_cases (case_id, application_id, year, base_type, name, applicant_organization,"
                " applicant_name, organizing_unit_id, recommending_unit_id, region, domain, plan_version, state,"
                " opened_at, updated_at, position) VALUES (:id, :a, :year, :base_type, :name, :org, :applicant,"
                " :ou, :ru, :region, :domain, :v, 'received', :at, :at, :position)"
            ),
            {"id": event.originator_id, "a": event.application_id, "year": event.year, "base_type": event.base_type,
             "name": event.name, "org": event.applicant_organization, "applicant": event.applicant_name,
             "ou": event.organizing_unit_id, "ru": event.recommending_unit_id, "region": event.region,
             "domain": event.domain, "v": event.plan_version, "at": event.timestamp, "position": position},
        )

    def _project_reopened(self, session, event, position: int) -> None:
        r = event.recommendation
        session.execute(
            text(
                "UPDATE formal_cases SET state = CASE WHEN number IS NULL THEN 'received' ELSE 'under_review' END,"
                " name = :name, plan_version = :v, applicant_name = :applicant, updated_at = :at,"
                " position = :position WHERE case_id = :id"
            ),
            {"name": r["name"], "v": r["plan_version"], "applicant": r["applicant_name"], "at": event.timestamp,
             "position": position, "id": event.originator_id},
        )

    def _project_case(self, session, event, position: int) -> None:
        name = type(event).__name__
        columns = {"updated_at": event.timestamp, "position": position}
        if name in CASE_STATE_AFTER:
            columns["state"] = CASE_STATE_AFTER[name]
        if name == "Accepted":
            columns["number"] = event.number
        elif name == "SupplementRequested":
            columns.update(open_request_id=event.request_id, deadline=event.deadline)
        elif name == "SupplementDeadlineExtended":
            columns["deadline"] = event.new_deadline
        elif name == "SupplementReceived":
            columns.update(open_request_id=None, deadline=None, plan_version=event.plan_version, name=event.name)
        elif name in ("FoundInadmissible", "Closed"):
            columns.update(open_request_id=None, deadline=None)
        assignments = ", ".join(f"{column} = :{column}" for column in columns)
        session.execute(text(f"UPDATE formal_cases SET {assignments} WHERE case_id = :case_id"),
                        {**columns, "case_id": event.originator_id})

    # --- access -------------------------------------------------------------------------

    def _case_or_none(self, application_id) -> Case | None:
        try:
            return self.repository.get(case_id(application_id))
        except AggregateNotFoundError:
            return None

    def _case(self, application_id) -> Case:
        case = self._case_or_none(application_id)
        if case is None:
            raise ApplicationNotFound("no formal review case for this application",
                                      {"application_id": str(application_id)})
        preconditions.check(case)  # a command sent with the version the caller read (If-Match)
        return case

    def _sequence_or_none(self, year: int, base_type: str) -> NumberSequence | None:
        try:
            return self.repository.get(sequence_id(year, base_type))
        except AggregateNotFoundError:
            return None


def _cause(event: IntegrationEvent) -> dict:
    return {"source": event.source, "position": event.position}

