"""Make psycopg2 yield to eventlet's hub while it waits on PostgreSQL.

Imported by every service module before any connection is made: without it,
one slow query stops every other greenthread of the process.
"""
import eventlet.patcher

if eventlet.patcher.is_monkey_patched("socket"):
    from eventlet.support.psycopg2_patcher import make_psycopg_green

    make_psycopg_green()
