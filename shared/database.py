"""The plain PostgreSQL connections beneath the event store, the audit anchors and the commit
listener: the database created on first start, a connection, the schema lock, and the name
this process writes under."""
from __future__ import annotations

import os
import socket
from contextlib import contextmanager

import psycopg2
import psycopg2.errors
from sqlalchemy.engine import make_url

INSTANCE = f"{socket.gethostname()}:{os.getpid()}"  # the writing instance, as commit notices name it


def ensure_database(url: str) -> None:
    """Create the service's database on first start; two instances racing is fine."""
    parsed = make_url(url)
    admin = psycopg2.connect(**_connect_args(parsed.set(database="postgres")))
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (parsed.database,))
            if cursor.fetchone() is None:
                try:
                    cursor.execute(f'CREATE DATABASE "{parsed.database}"')
                except (psycopg2.errors.DuplicateDatabase, psycopg2.errors.UniqueViolation):
                    pass
    finally:
        admin.close()


def connect(url: str):
    """A plain psycopg2 connection to the service database (LISTEN, advisory locks)."""
    return psycopg2.connect(**_connect_args(make_url(url)))


@contextmanager
def schema_lock(url: str):
    conn = connect(url)
    conn.autocommit = True
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(hashtext('innobase-schema'))")
        yield
    finally:
        conn.close()


def _connect_args(url) -> dict:
    args = url.translate_connect_args(username="user", database="dbname")
    return {k: v for k, v in args.items() if v is not None}
