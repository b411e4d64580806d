"""Approval queue speed on SQLite (a file, default durability: WAL + synchronous=FULL).

- request-to-pending latency: ``session.call`` of a tool whose effect is ``approve``, from the
  call until the pending handle is back (validate, decide, durable decision record, request
  row with argument provenance, durable ``approval`` event);
- create+decide cycles per second: that call plus one approver's approval;
- create+decide+resume cycles per second: plus executing the approved call exactly once.

Run: ``ringfence bench approvals --json`` (or ``python benchmarks/bench_approvals.py``).
"""

from __future__ import annotations

import json
import platform
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

import click

from ringfence.approval import ApprovalQueue
from ringfence.gateway import Gateway
from ringfence.policy import Principal, policy_from_yaml
from ringfence.store import SqliteStore

POLICY = """
version: 1
name: bench-approvals
approvers: {alice: {roles: [ops]}}
tools:
  cancel_order:
    effect: approve
    args: {order_id: {type: string, required: true}}
"""


def _setup(db: Path) -> tuple[Gateway, ApprovalQueue, object]:
    policy = policy_from_yaml(POLICY)
    store = SqliteStore(db)
    queue = ApprovalQueue(store, policy=policy)
    gw = Gateway(policy, store=store, approvals=queue)

    @gw.tool
    def cancel_order(order_id: str) -> str:
        return f"cancelled {order_id}"

    session = gw.session(Principal("cust-1"), "bench", agent="agent")
    session.add_content("Please cancel my orders 1 to 100000, thanks.", source="user")
    session.add_content("Order list: " + ", ".join(str(i) for i in range(0, 2000, 7)),
                        source="tool:list_orders")  # fmt: skip
    return gw, queue, session


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run(n: int, db: Path) -> dict[str, object]:
    gw, queue, session = _setup(db)
    latencies = []
    for i in range(n):
        start = time.perf_counter()
        result = session.call("cancel_order", {"order_id": str(i)})  # type: ignore[attr-defined]
        latencies.append((time.perf_counter() - start) * 1000)
        assert result.approval.status == "pending"
    start = time.perf_counter()
    for i in range(n):
        rid = session.call("cancel_order", {"order_id": str(i)}).approval.request_id  # type: ignore[attr-defined]
        queue.approve(rid, "alice")
    decide = n / (time.perf_counter() - start)
    start = time.perf_counter()
    for i in range(n):
        rid = session.call("cancel_order", {"order_id": str(i)}).approval.request_id  # type: ignore[attr-defined]
        queue.approve(rid, "alice")
        assert gw.resume(rid).executed
    resume = n / (time.perf_counter() - start)
    gw.close()
    queue.close()
    return {
        "benchmark": "approvals",
        "n": n,
        "request_to_pending_ms": {
            "p50": round(statistics.median(latencies), 3),
            "p90": round(_pct(latencies, 0.9), 3),
            "p99": round(_pct(latencies, 0.99), 3),
        },
        "create_decide_per_s": round(decide, 1),
        "create_decide_resume_per_s": round(resume, 1),
        "store": {"journal_mode": "wal", "synchronous": "FULL", "file": True},
        "sqlite": sqlite3.sqlite_version,
        "python": platform.python_version(),
        "machine": platform.machine(),
    }


@click.command("approvals")
@click.option("--n", default=300, show_default=True, help="Requests per measurement.")
@click.option("--db", type=click.Path(dir_okay=False), default=None,
              help="Database file to use (default: a fresh temporary file).")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print JSON (the only output format).")
def cli(n: int, db: str | None, as_json: bool) -> None:
    """Approval queue latency and throughput on a SQLite file (default durability)."""
    if db is not None:
        click.echo(json.dumps(run(n, Path(db))))
        return
    with tempfile.TemporaryDirectory() as tmp:
        click.echo(json.dumps(run(n, Path(tmp) / "bench.db")))


if __name__ == "__main__":
    cli()
