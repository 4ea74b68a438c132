"""What one commit writes, the plain way: a reader can follow it statement by statement.

Inside the transaction of a save (the library's, or `ServiceApplication.transaction()`):

1. the processed-message row, when the save answers an upstream message (`processed`): its
   primary key refuses the same message twice;
2. a lock on the events table: positions commit in order, and the hash chain's head is ours;
3. the events, each an `INSERT … RETURNING id` (the id is the event's log position); a version
   taken meanwhile breaks the (aggregate, version) key and the library's `IntegrityError` follows;
4. the hash chain extended over them (`shared.audit.extend_chain`);
5. the audit index: which application each event belongs to (`index`);
6. a commit notice on the service's channel, `"<last position> <instance>"`, delivered by
   PostgreSQL on commit (`shared.notices`, `shared.outbox`);
7. the read models (`project`).

`shared.eventstore.fast.FastRecorder` writes the same rows in fewer round trips; with
`INNOBASE_FAST_PATH=0` this one runs instead (the README, "Architecture").
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Sequence

import psycopg2
from eventsourcing.persistence import StoredEvent
from eventsourcing_sqlalchemy.factory import SQLAlchemyFactory
from eventsourcing_sqlalchemy.datastore import SQLAlchemyDatastore
from sqlalchemy import text

from shared import audit, clock
from shared.contracts import IntegrationEvent
from shared.database import INSTANCE
from shared.eventstore import library


class TrackedRecorder(library.Recorder):
    """The library's recorder, writing every row a commit needs in the commit's transaction."""

    def write(self, session, stored_events: Sequence[StoredEvent], **kwargs: Any) -> list[int]:
        processed: IntegrationEvent | None = kwargs.get("processed")
        if processed is not None:
            session.execute(
                text("INSERT INTO processed_messages (source, position, event_id, application_id, event_type,"
                     " processed_at, processed_by) VALUES (:source, :position, :event_id, :application_id,"
                     " :event_type, :at, :by)"),
                {"source": processed.source, "position": processed.position, "event_id": processed.event_id,
                 "application_id": processed.application_id, "event_type": processed.type,
                 "at": clock.now(), "by": INSTANCE})
        if not stored_events:
            return []
        index, project = kwargs.get("index"), kwargs.get("project")
        indexed = index(session) if index is not None else None  # may read the index: before the insert
        table = self.events_table_name
        session.execute(text(f"LOCK TABLE {table} IN EXCLUSIVE MODE"))
        insert = text(f"INSERT INTO {table} (originator_id, originator_version, topic, state)"
                      " VALUES (:originator_id, :version, :topic, :state) RETURNING id")
        positions = [
            session.execute(insert, {"originator_id": str(event.originator_id), "version": event.originator_version,
                                     "topic": event.topic, "state": event.state}).scalar_one()
            for event in stored_events
        ]
        audit.extend_chain(session, table)
        if indexed is not None:
            session.execute(
                text("INSERT INTO audit_index (position, application_id, originator_id, originator_version,"
                     " event_type, occurred_at) VALUES (:position, :application_id, :originator_id, :version,"
                     " :event_type, :occurred_at)"),
                [{"position": position, "application_id": application_id, "originator_id": str(event.originator_id),
                  "version": event.originator_version, "event_type": event_type, "occurred_at": occurred_at}
                 for position, event, (application_id, event_type, occurred_at)
                 in zip(positions, stored_events, indexed)])
        session.execute(text("SELECT pg_notify(:channel, :payload)"),
                        {"channel": self.channel_name, "payload": f"{max(positions)} {INSTANCE}"})
        if project is not None:
            project(session, positions)
        return positions

    @contextmanager
    def autocommit_cursor(self):
        """A cursor on a pooled connection in autocommit: each statement its own transaction."""
        connection = self.datastore.engine.raw_connection()
        try:
            connection.dbapi_connection.autocommit = True
            with connection.cursor() as cursor:
                yield cursor
        finally:
            try:
                connection.dbapi_connection.autocommit = False
            except psycopg2.Error:  # the connection is lost: the pool must not keep it
                connection.invalidate()
            connection.close()

    @contextmanager
    def reading_cursor(self):
        """A cursor for reads: the current transaction's, which sees its own writes, or else one
        in autocommit."""
        if library.in_transaction():
            with self.transaction(commit=False) as session:
                with session.connection().connection.cursor() as cursor:
                    yield cursor
        else:
            with self.autocommit_cursor() as cursor:
                yield cursor


class Datastore(SQLAlchemyDatastore):
    """The library's datastore; a pooled connection is tested before use (`pool_pre_ping`), so a
    connection that died with a database restart is replaced instead of failing its caller."""

    def __init__(self, **kwargs: Any):
        super().__init__(pool_pre_ping=True, **kwargs)


class Factory(SQLAlchemyFactory):
    datastore_class = Datastore
    application_recorder_class = TrackedRecorder
