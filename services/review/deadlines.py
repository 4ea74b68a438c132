"""Deadlines (期限) of every kind — supplement, revision, construction plan — kept by one mechanism.

A `Deadline` aggregate per (application, kind, request id) lives in the log of
the service that set it; its id is a uuid5 of that key, so a request cannot
have two. Its facts are events on the aggregate: set, each reminder, the
miss, an extension, met, cancelled. A reminder and the miss are each recorded
once even with several instances scanning: each instance loads the
aggregate, records the fact and saves, and the event log's unique
(originator, version) lets only one save win — the others get
`ConcurrencyConflict` and move on. Nothing lives in memory, so a restart
loses and repeats nothing.

`DeadlineKeeper` is the part a `ServiceApplication` mixes in: the read model of
deadlines (which one needs looking at when, `next_check`), the scan a nameko
`timer` calls every `INNOBASE_DEADLINE_SCAN_SECONDS`, and the integration
events `DeadlineApproaching`, `DeadlineMissed` and `DeadlineExtended`.
Reminders fall `INNOBASE_REMINDER_DAYS` days before the deadline (default
"7,1"); the days are fixed when a deadline is set, so a later change of the
setting does not rewrite the history of deadlines already running.
"""
from __future__ import annotations

import logging
import os
import uuid
from datetime import datetime, timedelta

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate
from eventsourcing.utils import register_topic
from sqlalchemy import text

from services.review.errors import DeadlineClosed, DeadlineInPast
from shared import clock
from shared import rules
from shared.errors import ConcurrencyConflict

log = logging.getLogger(__name__)

NAMESPACE = uuid.UUID("3f0b6c52-1d7e-4c11-a0c4-9b8e2f6d7a13")
OPEN, MET, MISSED, CANCELLED = "open", "met", "missed", "cancelled"
REMINDED = "reminded"
DEFAULT_SCAN_SECONDS = "30"
SCAN_BATCH = 200


reminder_days = rules.reminder_days  # one reading of INNOBASE_REMINDER_DAYS for every service


def scan_interval(environ=None) -> float:
    """Seconds between two scans for due reminders and misses (`INNOBASE_DEADLINE_SCAN_SECONDS`)."""
    value = float((os.environ if environ is None else environ).get(
        "INNOBASE_DEADLINE_SCAN_SECONDS", DEFAULT_SCAN_SECONDS))
    if value <= 0:
        raise ValueError("INNOBASE_DEADLINE_SCAN_SECONDS must be positive")
    return value


def deadline_id(application_id, kind: str, request_id: str) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, f"{application_id}:{kind}:{request_id}")


def _settled_by(due: datetime, days: list[int], now: datetime) -> list[int]:
    """Reminders whose moment has already come: they are not sent late, they are settled."""
    return sorted(d for d in days if due - timedelta(days=d) <= now)


def _next_check(due: datetime, days: list[int], settled: list[int]) -> datetime:
    """The next moment the deadline needs looking at: its next reminder, else the deadline itself."""
    pending = [due - timedelta(days=d) for d in days if d not in settled]
    return min(pending + [due])


class Deadline(Aggregate):
    """One deadline by which an answer is due; every event carries the key and the due date,
    so the read model and the published events need nothing else."""

    class DeadlineSet(Aggregate.Created):
        application_id: str
        kind: str
        request_id: str
        due: datetime
        reminder_days: list
        settled: list
        next_check: datetime
        actor: dict | None
        caused_by: dict | None

    def __init__(self, application_id, kind, request_id, due, reminder_days, settled, next_check,
                 actor, caused_by):
        self.application_id = str(application_id)
        self.kind = kind
        self.request_id = request_id
        self.due = due
        self.reminder_days = list(reminder_days)
        self.settled = list(settled)
        self.next_check = next_check
        self.state = OPEN
        self.answered_at: datetime | None = None
        self.on_time: bool | None = None
        self.misses: list[datetime] = []
        self.extensions: list[dict] = []

    class Fact(Aggregate.Event):
        """What every later event carries besides its own fields."""

        application_id: str
        kind: str
        request_id: str
        due: datetime
        next_check: datetime | None

    class DeadlineReminded(Fact):
        days_before: int
        settled: list

        def apply(self, deadline: "Deadline") -> None:
            deadline.settled = list(self.settled)
            deadline.next_check = self.next_check

    class DeadlineMissed(Fact):
        def apply(self, deadline: "Deadline") -> None:
            deadline.state = MISSED
            deadline.next_check = None
            deadline.misses.append(self.due)

    class DeadlineExtended(Fact):
        previous_due: datetime
        reason: str
        settled: list
        actor: dict | None

        def apply(self, deadline: "Deadline") -> None:
            deadline.due = self.due
            deadline.settled = list(self.settled)
            deadline.next_check = self.next_check
            deadline.state = OPEN
            deadline.extensions.append({"from": self.previous_due, "to": self.due, "reason": self.reason})

    class DeadlineMet(Fact):
        answered_at: datetime
        on_time: bool
        actor: dict | None
        caused_by: dict | None

        def apply(self, deadline: "Deadline") -> None:
            deadline.state = MET
            deadline.next_check = None
            deadline.answered_at = self.answered_at
            deadline.on_time = self.on_time

    class DeadlineCancelled(Fact):
        reason: str
        actor: dict | None
        caused_by: dict | None

        def apply(self, deadline: "Deadline") -> None:
            deadline.state = CANCELLED
            deadline.next_check = None

    # --- commands -----------------------------------------------------------------

    @classmethod
    def set(cls, *, application_id, kind: str, request_id: str, due: datetime, now: datetime,
            days: tuple[int, ...] | None = None, actor: dict | None = None,
            caused_by: dict | None = None) -> "Deadline":
        if due <= now:
            raise DeadlineInPast.of("deadline_in_future", "the deadline must lie in the future",
                                    field="deadline", deadline=due.isoformat(), now=now.isoformat())
        days = list(reminder_days() if days is None else days)
        settled = _settled_by(due, days, now)
        return cls._create(
            cls.DeadlineSet, id=deadline_id(application_id, kind, request_id),
            application_id=str(application_id), kind=kind, request_id=request_id, due=due,
            reminder_days=days, settled=settled, next_check=_next_check(due, days, settled),
            actor=actor, caused_by=caused_by,
        )

    @property
    def is_open(self) -> bool:
        return self.state == OPEN

    def check(self, now: datetime) -> str | None:
        """Record what has come due by `now`: the miss, else the nearest reminder; None if nothing."""
        if self.state != OPEN:
            return None
        if now >= self.due:
            self._fact(self.DeadlineMissed, next_check=None)
            return MISSED
        due_now = [d for d in self.reminder_days
                   if d not in self.settled and self.due - timedelta(days=d) <= now]
        if not due_now:
            return None
        # After a pause (a restart, a clock jump) only the nearest reminder is worth sending.
        settled = sorted(set(self.settled) | set(due_now))
        self._fact(self.DeadlineReminded, days_before=min(due_now), settled=settled,
                   next_check=_next_check(self.due, self.reminder_days, settled))
        return REMINDED

    def extend(self, new_due: datetime, reason: str, now: datetime, actor: dict | None = None) -> None:
        if self.state not in (OPEN, MISSED):
            raise DeadlineClosed.of("deadline_open", f"the deadline is {self.state}; it cannot be extended",
                                    state=self.state, request_id=self.request_id)
        if new_due <= now:
            raise DeadlineInPast.of("deadline_in_future", "the new deadline must lie in the future",
                                    field="new_deadline", deadline=new_due.isoformat(), now=now.isoformat())
        settled = _settled_by(new_due, self.reminder_days, now)
        self.trigger_event(
            self.DeadlineExtended, application_id=self.application_id, kind=self.kind,
            request_id=self.request_id, due=new_due, previous_due=self.due, reason=reason, settled=settled,
            next_check=_next_check(new_due, self.reminder_days, settled), actor=actor,
        )

    def meet(self, at: datetime, actor: dict | None = None, caused_by: dict | None = None) -> bool | None:
        """The answer arrived at `at`: on time or not. None when the deadline was already closed.

        On time is judged by when the answer was given, so an answer given in time that
        reached this service after the miss was recorded still counts as in time.
        """
        if self.state not in (OPEN, MISSED):
            return None
        on_time = at <= self.due
        self._fact(self.DeadlineMet, next_check=None, answered_at=at, on_time=on_time, actor=actor,
                   caused_by=caused_by)
        return on_time

    def cancel(self, reason: str, actor: dict | None = None, caused_by: dict | None = None) -> None:
        if self.state in (OPEN, MISSED):
            self._fact(self.DeadlineCancelled, next_check=None, reason=reason, actor=actor, caused_by=caused_by)

    def _fact(self, event_class, **fields) -> None:
        self.trigger_event(event_class, application_id=self.application_id, kind=self.kind,
                           request_id=self.request_id, due=self.due, **fields)


STATE_AFTER = {
    "DeadlineSet": OPEN, "DeadlineReminded": OPEN, "DeadlineMissed": MISSED,
    "DeadlineExtended": OPEN, "DeadlineMet": MET, "DeadlineCancelled": CANCELLED,
}

DEADLINES_DDL = """
CREATE TABLE IF NOT EXISTS deadlines (
    deadline_id uuid PRIMARY KEY,
    application_id uuid NOT NULL,
    kind text NOT NULL,
    request_id text NOT NULL,
    due timestamptz NOT NULL,
    next_check timestamptz,
    state text NOT NULL,
    set_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    position bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS deadlines_to_check ON deadlines (next_check) WHERE state = 'open';
CREATE INDEX IF NOT EXISTS deadlines_by_application ON deadlines (application_id);
"""



# Deadlines set while this module was shared/deadlines.py are stored under that topic; the
# alias covers the aggregate and its nested events ("shared.deadlines:Deadline.DeadlineSet").
OLD_TOPIC = "shared.deadlines:Deadline"
register_topic(OLD_TOPIC, Deadline)


class DeadlineKeeper:
    """Mixed into a `ServiceApplication` that sets deadlines: its read model, scan and published facts.

    The application adds `DEADLINES_DDL` to its `read_model_ddl`, "deadlines" to
    its `read_model_tables`, `DEADLINE_PROJECTIONS` to its `projections`, asks
    `deadline_integration_event` first in `integration_event`, and overrides
    `on_deadline_missed` to change its own aggregates in the same transaction
    as the miss.
    """

    DEADLINE_PROJECTIONS = {name: "_project_deadline" for name in STATE_AFTER}

    def scan_deadlines(self, now: datetime | None = None) -> list[tuple[str, str]]:
        """Record every reminder and miss that has come due; returns (deadline id, what) pairs recorded here."""
        now = now or clock.now()
        recorded = []
        rows = self.query(
            "SELECT deadline_id FROM deadlines WHERE state = 'open' AND next_check <= :now"
            " ORDER BY next_check LIMIT :batch", now=now, batch=SCAN_BATCH,
        )
        for row in rows:
            try:
                deadline = self.repository.get(row["deadline_id"])
                outcome = deadline.check(now)
                if outcome is None:
                    continue
                changed = [deadline] + (self.on_deadline_missed(deadline) if outcome == MISSED else [])
                self.save(*changed)
                recorded.append((str(deadline.id), outcome))
            except ConcurrencyConflict:
                continue  # another instance recorded it first, or the case moved on: looked at again next scan
        return recorded

    def on_deadline_missed(self, deadline: Deadline) -> list:
        """Aggregates the service changes because `deadline` was missed (saved with the miss)."""
        return []

    def deadline(self, application_id, kind: str, request_id: str) -> Deadline | None:
        try:
            return self.repository.get(deadline_id(application_id, kind, request_id))
        except AggregateNotFoundError:
            return None

    def deadlines_of(self, application_id) -> list[dict]:
        return self.query(
            "SELECT kind, request_id, due, state FROM deadlines WHERE application_id = :a ORDER BY set_at",
            a=application_id,
        )

    def deadline_integration_event(self, domain_event) -> tuple[str, int, dict] | None:
        name = type(domain_event).__name__
        if name not in STATE_AFTER:
            return None
        key = {"application_id": getattr(domain_event, "application_id", None)}
        if name == "DeadlineReminded":
            return "DeadlineApproaching", 1, {
                **key, "deadline_kind": domain_event.kind, "request_id": domain_event.request_id,
                "deadline": domain_event.due, "days_before": domain_event.days_before,
            }
        if name == "DeadlineMissed":
            return "DeadlineMissed", 1, {
                **key, "deadline_kind": domain_event.kind, "request_id": domain_event.request_id,
                "deadline": domain_event.due,
            }
        if name == "DeadlineExtended":
            return "DeadlineExtended", 1, {
                **key, "deadline_kind": domain_event.kind, "request_id": domain_event.request_id,
                "new_deadline": domain_event.due, "reason": domain_event.reason,
            }
        return None

    def _project_deadline(self, session, event, position: int) -> None:
        session.execute(
            text(
                "INSERT INTO deadlines (deadline_id, application_id, kind, request_id, due, next_check, state,"
                " set_at, updated_at, position) VALUES (:id, :application, :kind, :request, :due, :next, :state,"
                " :at, :at, :position) ON CONFLICT (deadline_id) DO UPDATE SET due = :due, next_check = :next,"
                " state = :state, updated_at = :at, position = :position"
            ),
            {"id": event.originator_id, "application": event.application_id, "kind": event.kind,
             "request": event.request_id, "due": event.due, "next": event.next_check,
             "state": STATE_AFTER[type(event).__name__], "at": event.timestamp, "position": position},
        )
