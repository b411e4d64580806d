"""The audit log: append-only, hash-chained, group-committed, and verifiably tamper-evident."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from ringfence.audit import AuditLog, ContentEvent, DecisionEvent, ErrorEvent, verify_chain
from ringfence.exceptions import ConfigError, StoreError
from ringfence.store import SqliteStore


def _event(i: int) -> ContentEvent:
    return ContentEvent(
        item_id=f"c{i}", source="user", trusted=True, text=f"message {i}", session="s"
    )


def _write(db: Path, n: int, key: bytes | None = None) -> None:
    with SqliteStore(db) as store:
        log = AuditLog(store, key=key)
        for i in range(n):
            log.append(_event(i), durable=(i % 3 == 0))
        log.close()


def _tamper(db: Path, *sql: str) -> None:
    conn = sqlite3.connect(db)
    conn.execute("DROP TRIGGER audit_events_no_update")
    conn.execute("DROP TRIGGER audit_events_no_delete")
    for statement in sql:
        conn.execute(statement)
    conn.commit()
    conn.close()


def test_intact_log_verifies(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    _write(db, 10)
    result = verify_chain(db)
    assert (result.ok, result.records, result.first_bad_seq) == (True, 10, None)


def test_records_read_back_as_typed_events(tmp_path: Path) -> None:
    with SqliteStore(tmp_path / "a.db") as store:
        log = AuditLog(store)
        seq = log.append(
            DecisionEvent(call_id="c1", tool="refund", decision="deny", reasons=["r"], rules=["x"])
        )
        (rec,) = list(log.records())
        assert rec.seq == seq == 1
        event = rec.event()
        assert isinstance(event, DecisionEvent) and event.rules == ["x"]
        log.close()


def test_altered_record_is_named(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    _write(db, 10)
    _tamper(
        db,
        "UPDATE audit_events SET payload = replace(payload, 'message 4', 'message X') WHERE seq = 5",
    )
    result = verify_chain(db)
    assert (result.ok, result.first_bad_seq) == (False, 5)
    assert "altered" in result.message


def test_removed_record_is_named(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    _write(db, 10)
    _tamper(db, "DELETE FROM audit_events WHERE seq = 4")
    result = verify_chain(db)
    assert (result.ok, result.first_bad_seq) == (False, 4)
    assert "missing" in result.message


def test_reordered_records_are_named(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    _write(db, 10)
    _tamper(
        db,
        "UPDATE audit_events SET seq = -6 WHERE seq = 6",
        "UPDATE audit_events SET seq = 6 WHERE seq = 7",
        "UPDATE audit_events SET seq = 7 WHERE seq = -6",
    )
    result = verify_chain(db)
    assert (result.ok, result.first_bad_seq) == (False, 6)


def test_truncated_tail_is_detected(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    _write(db, 10)
    _tamper(db, "DELETE FROM audit_events WHERE seq >= 9")
    result = verify_chain(db)
    assert (result.ok, result.first_bad_seq) == (False, 9)


def test_triggers_make_the_table_append_only(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    _write(db, 3)
    conn = sqlite3.connect(db)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("DELETE FROM audit_events WHERE seq = 1")
    conn.close()


def test_keyed_chain_needs_the_key_and_detects_rewrites(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    _write(db, 5, key=b"secret")
    assert verify_chain(db, b"secret").ok
    assert not verify_chain(db).ok
    assert not verify_chain(db, b"wrong").ok
    with SqliteStore(db) as store, pytest.raises(ConfigError, match="hmac-sha256"):
        AuditLog(store, key=None)


def test_buffered_records_are_written_at_close_and_flush(tmp_path: Path) -> None:
    with SqliteStore(tmp_path / "a.db") as store:
        log = AuditLog(store, flush_interval=60)
        for i in range(5):
            assert log.append(_event(i), durable=False) is None
        assert list(log.records()) == []
        log.flush()
        assert [r.seq for r in log.records()] == [1, 2, 3, 4, 5]
        log.append(_event(5), durable=False)
        log.close()
        assert len(list(log.records())) == 6


def test_durable_append_flushes_queued_records_first(tmp_path: Path) -> None:
    with SqliteStore(tmp_path / "a.db") as store:
        log = AuditLog(store, flush_interval=60)
        log.append(_event(0), durable=False)
        seq = log.append(ErrorEvent(where="x", message="boom"))
        assert seq == 2
        assert [r.kind for r in log.records()] == ["content", "error"]
        log.close()


def test_concurrent_durable_appends_form_one_valid_chain(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    with SqliteStore(db) as store:
        log = AuditLog(store)
        seqs: list[int | None] = []

        def worker(k: int) -> None:
            for i in range(25):
                seqs.append(log.append(_event(k * 100 + i)))

        threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        log.close()
    assert sorted(s for s in seqs if s is not None) == list(range(1, 101))
    assert verify_chain(db).ok


def test_two_writers_on_one_file_share_the_chain(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    with SqliteStore(db) as s1, SqliteStore(db) as s2:
        l1, l2 = AuditLog(s1), AuditLog(s2)
        for i in range(10):
            (l1 if i % 2 else l2).append(_event(i))
        l1.close()
        l2.close()
    assert verify_chain(db).records == 10 and verify_chain(db).ok


def test_failed_write_keeps_records_and_raises(tmp_path: Path) -> None:
    with SqliteStore(tmp_path / "a.db") as store:
        log = AuditLog(store, flush_interval=60)
        log.append(_event(0), durable=False)
        blocker = sqlite3.connect(tmp_path / "a.db", timeout=0)
        blocker.execute("BEGIN EXCLUSIVE")
        store._conn.execute("PRAGMA busy_timeout = 50")
        with pytest.raises(StoreError):
            log.append(_event(1))
        blocker.rollback()
        blocker.close()
        log.flush()
        assert [r.payload["item_id"] for r in log.records()] == ["c0", "c1"]
        log.close()
    assert verify_chain(tmp_path / "a.db").ok


def test_verify_on_missing_file_raises(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        verify_chain(tmp_path / "nope.db")


def test_transaction_commits_state_and_events_together(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    with SqliteStore(db) as store:
        with store.write() as conn:
            conn.execute("CREATE TABLE things (x INTEGER)")
        log = AuditLog(store, flush_interval=60)
        log.append(_event(0), durable=False)  # queued: must be written first, in order
        with log.transaction() as tx:
            tx.conn.execute("INSERT INTO things VALUES (1)")
            tx.append(ErrorEvent(where="state", message="changed"))
        assert [r.kind for r in log.records()] == ["content", "error"]

        def failing_change() -> None:
            with log.transaction() as tx:
                tx.conn.execute("INSERT INTO things VALUES (2)")
                tx.append(ErrorEvent(where="state", message="never"))
                raise RuntimeError("the state change failed")

        with pytest.raises(RuntimeError):
            failing_change()
        with store.read() as conn:
            assert conn.execute("SELECT COUNT(*) FROM things").fetchone()[0] == 1
        assert len(list(log.records())) == 2
        log.close()
    assert verify_chain(db).ok


def _committed(db: Path) -> list[str]:
    with sqlite3.connect(db) as conn:
        return [row[0] for row in conn.execute("SELECT payload FROM audit_events ORDER BY seq")]


def test_deferring_queues_durable_appends_until_flush(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    with SqliteStore(db) as store:
        log = AuditLog(store, flush_interval=3600)
        with log.deferring() as deferred:
            assert log.append(_event(0)) is None  # queued, not committed
            log.append(_event(1), durable=False)
            log.append_many([_event(2), _event(3)])
            with log.deferring() as inner:
                log.append(_event(4))
        assert (deferred.count, inner.count) == (4, 1)  # the inner block's count adds up
        assert _committed(db) == []
        log.flush()
        assert len(_committed(db)) == 5
        assert log.append(_event(5)) == 6  # outside the block: committed on return again
        log.close()
    assert verify_chain(db).ok


def test_deferring_is_per_thread(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    with SqliteStore(db) as store:
        log = AuditLog(store, flush_interval=3600)
        with log.deferring() as deferred:
            other = threading.Thread(target=lambda: log.append(_event(0)))
            other.start()
            other.join()
            assert len(_committed(db)) == 1  # the other thread's durable append committed
        assert deferred.count == 0
        log.close()
