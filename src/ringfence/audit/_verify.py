"""Verifying the audit chain of a database file, read-only.

Detects a record that was altered (its hash no longer matches), removed (a gap in the sequence
or a broken link), reordered (a broken link), or cut off the end (the head record disagrees).
Limits: without a key, someone who can rewrite the whole file can rebuild a consistent chain;
use ``RINGFENCE_AUDIT_KEY`` and/or export :meth:`AuditLog.head` elsewhere as an anchor.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from ringfence.audit._chain import GENESIS, Chain


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    records: int
    first_bad_seq: int | None
    message: str
    algorithm: str = "sha256"


def _open_ro(path: str) -> sqlite3.Connection:
    if not Path(path).is_file():
        raise FileNotFoundError(f"no such database: {path}")
    return sqlite3.connect(f"file:{Path(path).resolve()}?mode=ro", uri=True)


def verify_chain(path: str | Path, key: bytes | None = None) -> VerifyResult:
    """Walk the chain of the database at ``path``. Raises OSError/sqlite3.Error if unreadable."""
    conn = _open_ro(str(path))
    try:
        head = conn.execute("SELECT seq, hash, alg FROM audit_head WHERE id = 1").fetchone()
        alg = head[2] if head else ("hmac-sha256" if key else "sha256")
        if alg == "hmac-sha256" and key is None:
            return VerifyResult(False, 0, None, "the log is keyed: set RINGFENCE_AUDIT_KEY", alg)
        chain = Chain(key if alg == "hmac-sha256" else None)
        cursor = conn.execute(
            "SELECT seq, ts_us, kind, session, principal, payload, prev_hash, hash "
            "FROM audit_events ORDER BY seq"
        )
        return _walk(cursor, chain, head, alg)
    finally:
        conn.close()


def _walk(
    cursor: sqlite3.Cursor, chain: Chain, head: tuple[int, str, str] | None, alg: str
) -> VerifyResult:
    expected_seq, prev, count = 1, GENESIS, 0
    for seq, ts_us, kind, session, principal, payload, prev_hash, stored in cursor:
        if seq != expected_seq:
            return VerifyResult(
                False, count, expected_seq,
                f"record {expected_seq} is missing (next record is {seq})", alg,
            )  # fmt: skip
        if prev_hash != prev:
            return VerifyResult(
                False, count, seq,
                f"record {seq} does not link to record {seq - 1} (removed or reordered)", alg,
            )  # fmt: skip
        if chain.hash(prev, seq, ts_us, kind, session, principal, payload) != stored:
            return VerifyResult(False, count, seq, f"record {seq} was altered", alg)
        prev, expected_seq, count = stored, seq + 1, count + 1
    if head is None:
        ok = count == 0
        msg = "empty log" if ok else "head record is missing"
        return VerifyResult(ok, count, None if ok else count, msg, alg)
    if head[0] != count or head[1] != prev:
        return VerifyResult(
            False, count, count + 1 if head[0] > count else head[0],
            f"the log ends at record {count} but its head says {head[0]} (records removed)", alg,
        )  # fmt: skip
    return VerifyResult(True, count, None, f"{count} records verified", alg)
