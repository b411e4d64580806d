"""The schema changes only through numbered migrations; this test pins it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from ringfence.exceptions import StoreError
from ringfence.store import MIGRATIONS, SqliteStore

PINNED_TABLES = {
    "audit_events": [
        "seq",
        "ts_us",
        "kind",
        "session",
        "principal",
        "payload",
        "prev_hash",
        "hash",
    ],
    "audit_head": ["id", "seq", "hash", "alg"],
    "cap_usage": ["id", "cap_key", "ts", "amount", "value", "reservation"],
    "schema_migrations": ["version", "name", "applied_at"],
}


def _columns(db: Path) -> dict[str, list[str]]:
    conn = sqlite3.connect(db)
    try:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {n: [c[1] for c in conn.execute(f"PRAGMA table_info({n})")] for n in names}
    finally:
        conn.close()


def test_migrations_are_numbered_consecutively() -> None:
    assert [m.version for m in MIGRATIONS] == list(range(1, len(MIGRATIONS) + 1))


def test_core_schema_is_pinned(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    with SqliteStore(db) as store:
        assert store.schema_version == MIGRATIONS[-1].version
    columns = _columns(db)
    for table, cols in PINNED_TABLES.items():
        assert columns[table] == cols


def test_reopening_applies_nothing_twice(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    SqliteStore(db).close()
    SqliteStore(db).close()
    conn = sqlite3.connect(db)
    versions = [
        r[0] for r in conn.execute("SELECT version FROM schema_migrations ORDER BY version")
    ]
    conn.close()
    assert versions == [m.version for m in MIGRATIONS]


def test_wal_mode(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    SqliteStore(db).close()
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    SqliteStore(db).close()
    conn = sqlite3.connect(db)
    conn.execute("INSERT INTO schema_migrations VALUES (999, 'future', 0)")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="newer than this ringfence"):
        SqliteStore(db)


def test_not_a_database_is_a_store_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="cannot open store"):
        SqliteStore(bad)


def test_closed_store_refuses_work(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "s.db")
    store.close()
    with pytest.raises(StoreError, match="closed"), store.read():
        pass
