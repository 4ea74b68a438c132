"""How formal review finds its aggregates (cases, number sequences): what the other
parts share."""
from __future__ import annotations

from eventsourcing.application import AggregateNotFoundError

from shared import preconditions
from shared.errors import ApplicationNotFound
from services.review.formal_review.domain import Case, NumberSequence, case_id, sequence_id

SUPPLEMENT = "supplement"


class Access:
    """Mixed into `FormalReview`: its aggregates by id, a missing case a typed error."""

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
