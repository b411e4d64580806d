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
    # 3-9: approvals (ringfence.approval)
    Migration(
        3,
        "approval requests",
        """
        CREATE TABLE approval_requests (
            id             TEXT    PRIMARY KEY,
            state          TEXT    NOT NULL CHECK (state IN
                           ('pending','approved','denied','expired','cancelled','executed')),
            tool           TEXT    NOT NULL,
            args           TEXT    NOT NULL,
            call_id        TEXT    NOT NULL,
            principal      TEXT    NOT NULL,
            principal_data TEXT    NOT NULL,
            session        TEXT    NOT NULL,
            agent          TEXT,
            rules          TEXT    NOT NULL,
            reasons        TEXT    NOT NULL,
            provenance     TEXT    NOT NULL,
            risk           TEXT    NOT NULL,
            roles          TEXT    NOT NULL,
            two_person     INTEGER NOT NULL,
            policy         TEXT    NOT NULL,
            policy_digest  TEXT    NOT NULL,
            created_at     REAL    NOT NULL,
            expires_at     REAL    NOT NULL,
            decided_at     REAL,
            decided_by     TEXT,
            reason         TEXT,
            executed_at    REAL,
            execution      TEXT,
            result         TEXT
        );
        CREATE INDEX approval_requests_state ON approval_requests (state, expires_at);
        CREATE INDEX approval_requests_created ON approval_requests (created_at);
        CREATE TABLE approval_votes (
            request_id  TEXT NOT NULL REFERENCES approval_requests (id),
            approver    TEXT NOT NULL,
            decision    TEXT NOT NULL CHECK (decision IN ('approve','deny')),
            reason      TEXT NOT NULL,
            ts          REAL NOT NULL,
            PRIMARY KEY (request_id, approver)
        );
        CREATE TABLE approval_transitions (
            id          INTEGER PRIMARY KEY,
            request_id  TEXT NOT NULL,
            ts          REAL NOT NULL,
            action      TEXT NOT NULL,
            actor       TEXT,
            from_state  TEXT,
            to_state    TEXT NOT NULL,
            reason      TEXT NOT NULL DEFAULT ''
        );
        CREATE INDEX approval_transitions_request ON approval_transitions (request_id, id);
        """,
    ),
    Migration(
        4,
        "approvers and tokens",
        """
        CREATE TABLE approvers (
            name           TEXT    PRIMARY KEY,
            roles          TEXT    NOT NULL,
            active         INTEGER NOT NULL,
            policy_digest  TEXT    NOT NULL,
            updated_at     REAL    NOT NULL
        );
        CREATE TABLE approver_tokens (
            id            TEXT PRIMARY KEY,
            approver      TEXT NOT NULL,
            hash          TEXT NOT NULL,
            created_at    REAL NOT NULL,
            expires_at    REAL,
            revoked_at    REAL,
            last_used_at  REAL
        );
        """,
    ),
    Migration(
        5,
        "staged changes and soft deletes",
        """
        CREATE TABLE staged_changes (
            id              TEXT    PRIMARY KEY,
            state           TEXT    NOT NULL CHECK (state IN
                            ('staged','committed','rolled_back')),
            tool            TEXT    NOT NULL,
            args            TEXT    NOT NULL,
            call_id         TEXT    NOT NULL,
            principal       TEXT    NOT NULL,
            principal_data  TEXT    NOT NULL,
            session         TEXT    NOT NULL,
            agent           TEXT,
            cleared_rules   TEXT    NOT NULL,
            provenance      TEXT    NOT NULL,
            request_id      TEXT,
            created_at      REAL    NOT NULL,
            decided_at      REAL,
            decided_by      TEXT,
            reason          TEXT,
            outcome         TEXT,
            result          TEXT
        );
        CREATE INDEX staged_changes_state ON staged_changes (state, created_at);
        CREATE TABLE soft_deletes (
            kind         TEXT NOT NULL,
            resource_id  TEXT NOT NULL,
            data         TEXT NOT NULL,
            deleted_at   REAL NOT NULL,
            deleted_by   TEXT,
            restored_at  REAL,
            PRIMARY KEY (kind, resource_id)
        );
        """,
    ),
    Migration(
        6,
        "approvals lapse when not executed in time",
        """
        ALTER TABLE approval_requests ADD COLUMN execute_within REAL;
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
