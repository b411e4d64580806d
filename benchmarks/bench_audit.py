"""Audit-log append throughput vs raw sqlite3 inserts of the same rows, same durability.

- durable: one ``AuditLog.append(event, durable=True)`` per record (a commit each, WAL with
  ``synchronous=FULL``), against raw ``INSERT`` + ``COMMIT`` per row on an identical table.
- batched: ``append(event, durable=False)`` then ``flush()`` (group commit, batches of 1,024),
  against raw ``executemany`` in transactions of 1,024 rows.
- rounds of the two alternate, so both see the same disk and CPU conditions.
- durable_concurrent: 8 threads appending durably at once, sharing commits (group commit).

ringfence's figures include building each record: JSON-serialising the event and computing its
hash-chain link; the raw inserts get those rows precomputed.

    ringfence bench audit --json
"""

from __future__ import annotations

import json
import sqlite3
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import click

from ringfence.audit import AuditLog, DecisionEvent
from ringfence.store import MIGRATIONS, SqliteStore

BATCH = 1024


def make_events(n: int) -> list[DecisionEvent]:
    return [
        DecisionEvent(
            session=f"s{i % 50}", principal=f"cust-{i % 200}", call_id=f"call-{i:08d}", tool="refund",
            decision="deny" if i % 4 == 0 else "allow",
            reasons=[f"argument 'amount': {i % 90} violates maximum 40"] if i % 4 == 0 else ["allowed"],
            rules=["refund.args.amount.maximum"] if i % 4 == 0 else ["tool:refund"],
            policy="support-desk", policy_digest="ab" * 32,
        )
        for i in range(n)
    ]  # fmt: skip


def rows_since(db: Path, after: int) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(db)
    rows = conn.execute(
        "SELECT seq, ts_us, kind, session, principal, payload, prev_hash, hash FROM audit_events "
        "WHERE seq > ? ORDER BY seq",
        (after,),
    ).fetchall()
    conn.close()
    return rows


def raw_db(path: Path) -> sqlite3.Connection:
    """An identical audit_events table (same columns and indexes) with the same pragmas."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    schema = MIGRATIONS[0].sql.split("CREATE TABLE audit_head")[0]
    for statement in schema.split(";"):
        if statement.strip():
            conn.execute(statement)
    return conn


INSERT = "INSERT INTO audit_events VALUES (?, ?, ?, ?, ?, ?, ?, ?)"


def raw_durable(conn: sqlite3.Connection, rows: list[tuple[Any, ...]]) -> float:
    t0 = time.perf_counter()
    for row in rows:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(INSERT, row)
        conn.execute("COMMIT")
    return time.perf_counter() - t0


def raw_batched(conn: sqlite3.Connection, rows: list[tuple[Any, ...]]) -> float:
    t0 = time.perf_counter()
    for i in range(0, len(rows), BATCH):
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(INSERT, rows[i : i + BATCH])
        conn.execute("COMMIT")
    return time.perf_counter() - t0


def ours(log: AuditLog, events: list[DecisionEvent], durable: bool) -> float:
    t0 = time.perf_counter()
    for event in events:
        log.append(event, durable=durable)
    if not durable:
        log.flush()
    return time.perf_counter() - t0


def interleaved(folder: Path, name: str, n: int, rounds: int, durable: bool) -> tuple[float, float]:
    """Alternate rounds of ringfence and raw inserts of the rows ringfence just wrote, so both see
    the same disk and CPU conditions; returns (ringfence/s, raw/s)."""
    db = folder / f"{name}.db"
    store = SqliteStore(db)
    log = AuditLog(store, flush_interval=3600, max_batch=BATCH)
    raw = raw_db(folder / f"raw_{name}.db")
    t_ours = t_raw = 0.0
    written = 0
    per_round = n // rounds
    for _ in range(rounds):
        t_ours += ours(log, make_events(per_round), durable)
        rows = rows_since(db, written)
        written += len(rows)
        t_raw += (raw_durable if durable else raw_batched)(raw, rows)
    log.close()
    store.close()
    raw.close()
    return round(written / t_ours, 1), round(written / t_raw, 1)


def bench_concurrent(folder: Path, events: list[DecisionEvent], threads: int = 8) -> float:
    with SqliteStore(folder / "concurrent.db") as store:
        log = AuditLog(store)
        chunks = [events[i::threads] for i in range(threads)]

        def worker(chunk: list[DecisionEvent]) -> None:
            for event in chunk:
                log.append(event, durable=True)

        pool = [threading.Thread(target=worker, args=(c,)) for c in chunks]
        t0 = time.perf_counter()
        for t in pool:
            t.start()
        for t in pool:
            t.join()
        elapsed = time.perf_counter() - t0
        log.close()
    return round(len(events) / elapsed, 1)


def run(n_durable: int, n_batched: int, rounds: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(dir=".") as tmp:
        folder = Path(tmp)
        durable, raw_d = interleaved(folder, "durable", n_durable, rounds, durable=True)
        batched, raw_b = interleaved(folder, "batched", n_batched, rounds, durable=False)
        concurrent = bench_concurrent(folder, make_events(n_durable))
    return {
        "durable_per_s": durable,
        "raw_durable_per_s": raw_d,
        "durable_vs_raw": round(durable / raw_d, 3),
        "batched_per_s": batched,
        "raw_batched_per_s": raw_b,
        "batched_vs_raw": round(batched / raw_b, 3),
        "durable_concurrent_8_threads_per_s": concurrent,
        "records": {"durable": n_durable, "batched": n_batched, "rounds": rounds},
        "settings": "WAL, synchronous=FULL, batches of 1024, rounds interleaved; db in the cwd",
    }


@click.command("audit")
@click.option("--json", "as_json", is_flag=True, help="Print compact JSON.")
@click.option(
    "--durable", "n_durable", default=2_000, show_default=True, help="Records, durable runs."
)
@click.option(
    "--batched", "n_batched", default=50_000, show_default=True, help="Records, batched runs."
)
@click.option("--rounds", default=10, show_default=True, help="Interleaved rounds per comparison.")
def cli(as_json: bool, n_durable: int, n_batched: int, rounds: int) -> None:
    """Audit appends/s (durable and batched) vs raw sqlite3 with the same durability."""
    click.echo(json.dumps(run(n_durable, n_batched, rounds), indent=None if as_json else 2))


if __name__ == "__main__":
    cli()
