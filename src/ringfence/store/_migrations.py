"""Numbered schema migrations. The schema changes only by appending to :data:`MIGRATIONS`.

Each migration runs once, in its own transaction, and is recorded in ``schema_migrations``.
A database whose recorded version is newer than this code knows is refused.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


MIGRATIONS: list[Migration] = [
    Migration(
        1,
        "audit log",
        """
        CREATE TABLE audit_events (
            seq        INTEGER PRIMARY KEY,
            ts_us      INTEGER NOT NULL,
            kind       TEXT    NOT NULL,
            session    TEXT,
            principal  TEXT,
            payload    TEXT    NOT NULL,
            prev_hash  TEXT    NOT NULL,
            hash       TEXT    NOT NULL
        );
        CREATE INDEX audit_events_session ON audit_events (session, seq);
        CREATE INDEX audit_events_kind ON audit_events (kind, seq);
        CREATE TABLE audit_head (
            id    INTEGER PRIMARY KEY CHECK (id = 1),
            seq   INTEGER NOT NULL,
            hash  TEXT    NOT NULL,
            alg   TEXT    NOT NULL
        );
        CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
        CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
        """,
    ),
    Migration(
        2,
        "cap ledger",
        """
        CREATE TABLE cap_usage (
            id           INTEGER PRIMARY KEY,
            cap_key      TEXT    NOT NULL,
            ts           REAL    NOT NULL,
            amount       REAL    NOT NULL,
            value        TEXT,
            reservation  TEXT    NOT NULL
        );
        CREATE INDEX cap_usage_key_ts ON cap_usage (cap_key, ts);
        CREATE INDEX cap_usage_reservation ON cap_usage (reservation);
        """,
    ),
]


def current_version(conn: sqlite3.Connection) -> int:
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations "
        "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at REAL NOT NULL)"
    )
    row = conn.execute("SELECT MAX(version) FROM schema_migrations").fetchone()
    return int(row[0] or 0)


def migrate(conn: sqlite3.Connection) -> int:
    """Apply pending migrations; returns the schema version. ``conn`` must be in autocommit."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = current_version(conn)
        latest = MIGRATIONS[-1].version
        if version > latest:
            raise RuntimeError(
                f"database schema version {version} is newer than this ringfence ({latest})"
            )
        for mig in MIGRATIONS:
            if mig.version > version:
                for statement in _statements(mig.sql):
                    conn.execute(statement)
                conn.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                    (mig.version, mig.name, time.time()),
                )
                version = mig.version
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return version


def _statements(sql: str) -> list[str]:
    """Split a migration script into statements (triggers contain inner ``;``)."""
    out: list[str] = []
    buf = ""
    for line in sql.strip().splitlines():
        buf += line + "\n"
        if sqlite3.complete_statement(buf):
            out.append(buf.strip())
            buf = ""
    if buf.strip():
        out.append(buf.strip())
    return out
