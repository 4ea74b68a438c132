"""Nameko entrypoints of formal review (形式审查): the SAC officer's commands and queries,
the reactions to endorsement's and intake's events, and the deadline scan."""
import shared.process  # noqa: F401  (first: green psycopg2, the clock)
from nameko.timer import timer

from services.review.formal_review import schemas
from services.review.formal_review.application import FormalReview
from services.review import deadlines
from shared.consumer import integration_events
from shared.rpc import command, query, service_base


class FormalReviewService(service_base(FormalReview)):
    name = "formal_review"

    @integration_events("endorsement", "intake")
    def on_upstream_event(self, event):
        return self.app.process(event)

    @timer(interval=deadlines.scan_interval())
    def scan_deadlines(self):
        self.app.scan_deadlines()

    @query(schemas.CaseQuery)
    def cases(self, caller, data):
        """Officer, auditor. The formal review cases, oldest first, filtered by `state`,
        `base_type`, `year`, with counts by state. Returns `{"items": [...], "counts": {...}}`."""
        return self.app.cases(caller, data)

    @query(schemas.ApplicationRef)
    def get_case(self, caller, data):
        """Officer, auditor: the whole case with its completeness checklist (each item's status),
        supplement requests and deadlines. The applicant, organizing and recommending unit of the
        application (token organization): its number, state, supplement requests and decision."""
        return self.app.case(caller, data["application_id"])

    @command(schemas.ApplicationRef)
    def accept(self, caller, data):
        """Officer. Accepts a received case and gives the application its official number (编号),
        e.g. `CXJD-2026-QY-001`: sequential per year and base type, never reused. Publishes
        `ApplicationAccepted`. Rules: `already_accepted`, `wrong_stage`. Returns the case."""
        return self.app.accept(caller, data["application_id"])

    @command(schemas.RecordFinding)
    def record_finding(self, caller, data):
        """Officer. Records the check of one checklist item: `ok`, or `deficient` with a note
        (a deficient item blocks passing until a supplement answers it). Returns the case."""
        return self.app.record_finding(caller, data)

    @command(schemas.RequestSupplement)
    def request_supplement(self, caller, data):
        """Officer. Asks for supplementary material (补充材料): checklist `items`, the plan `sections`
        intake reopens (derived from the items, plus any named), the reason and the deadline.
        Publishes `SupplementRequested`; reminders and the miss follow as deadline events. Rules:
        `wrong_stage` (the case must be accepted and under review), `unknown_checklist_item`,
        `deadline_in_past`. Returns the case with the request's `request_id`."""
        return self.app.request_supplement(caller, data)

    @command(schemas.ExtendDeadline)
    def extend_deadline(self, caller, data):
        """Officer. Extends the open supplement request's deadline, with a reason — usually after
        it was missed. Publishes `DeadlineExtended`. Rules: `request_not_found`, `wrong_stage`,
        `deadline_closed`, `deadline_in_past`. Returns the case."""
        return self.app.extend_deadline(caller, data)

    @command(schemas.PassReview)
    def pass_review(self, caller, data):
        """Officer. Formal review passed (形式审查合格): the application enters expert review.
        Publishes `FormalReviewPassed`. Rules: `wrong_stage` (accepted, no supplement pending),
        `checklist_incomplete` (names the missing and deficient items). Returns the case."""
        return self.app.pass_review(caller, data)

    @command(schemas.Reject)
    def reject(self, caller, data):
        """Officer. Finds the application inadmissible, with reasons; an open supplement deadline
        is cancelled. Publishes `ApplicationFoundInadmissible`. Informing the applicant is a
        separate fact (`record_applicant_informed`). Returns the case."""
        return self.app.reject(caller, data)

    @command(schemas.RecordInformed)
    def record_applicant_informed(self, caller, data):
        """Officer. Records that the applicant was informed of the decision (`found_inadmissible`
        or `passed`), how and when (default now; not in the future). Publishes `ApplicantInformed`.
        Rules: `wrong_stage` (no such decision), `already_informed`. Returns the case."""
        return self.app.record_applicant_informed(caller, data)
