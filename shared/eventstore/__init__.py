"""The event store: each service's append-only log in PostgreSQL and what is derived from it.

Read it in this order:

- `application`: `ServiceApplication`, what a service builds on (transactions, saving,
  projections into read models, reactions to other services' events exactly once and in
  order, the audit index, history and replay);
- `recorder`: what one commit writes, statement by statement (the plain path);
- `fast`: the speed-ups, each doing what the plain code does in less time, all behind one
  switch, `INNOBASE_FAST_PATH` (on unless it is `0`; `make test` runs the integration tests once
  with it off);
- `library`: the fence around the eventsourcing libraries' private parts, with the versions it
  was checked against.
"""
from shared.database import ensure_database
from shared.eventstore.application import (
    BACKBONE_DDL,
    ORDER_WAIT_SECONDS,
    Duplicate,
    OutOfOrder,
    ServiceApplication,
    application,
    jsonable,
)
from shared.eventstore.fast import FastRecorder, Transcoder, fewer_collections
from shared.eventstore.recorder import TrackedRecorder

__all__ = [
    "BACKBONE_DDL", "ORDER_WAIT_SECONDS", "Duplicate", "OutOfOrder", "ServiceApplication", "application",
    "jsonable", "ensure_database", "FastRecorder", "Transcoder", "TrackedRecorder", "fewer_collections",
]
