"""The blast-radius report: what approvals cost (counts, time to decision, expiries, and the
rules that cause most of them)."""

from __future__ import annotations

import json
import statistics
from collections import Counter
from typing import Any

from ringfence.store import SqliteStore


def approval_stats(
    store: SqliteStore, *, since: float | None = None, top: int = 10
) -> dict[str, Any]:
    """Counts by state, median and p90 seconds to a decision, share expired, top rules/tools."""
    sql = "SELECT state, tool, rules, created_at, decided_at, execution FROM approval_requests"
    params: tuple[Any, ...] = ()
    if since is not None:
        sql += " WHERE created_at >= ?"
        params = (since,)
    with store.read() as conn:
        rows = conn.execute(sql, params).fetchall()
    states: Counter[str] = Counter()
    tools: Counter[str] = Counter()
    rules: Counter[str] = Counter()
    executions: Counter[str] = Counter()
    waits: list[float] = []
    for state, tool, rule_json, created, decided, execution in rows:
        states[state] += 1
        tools[tool] += 1
        rules.update(set(json.loads(rule_json)))
        if execution:
            executions[execution] += 1
        if decided is not None and state != "expired":
            waits.append(decided - created)
    closed = sum(states[s] for s in ("approved", "denied", "expired", "cancelled", "executed"))
    return {
        "requests": len(rows),
        "by_state": dict(sorted(states.items())),
        "approved_total": states["approved"] + states["executed"],
        "executions": dict(sorted(executions.items())),
        "decided": len(waits),
        "median_decision_s": statistics.median(waits) if waits else None,
        "p90_decision_s": _p90(waits),
        "expired_share": states["expired"] / closed if closed else None,
        "top_rules": [{"rule": r, "requests": n} for r, n in rules.most_common(top)],
        "top_tools": [{"tool": t, "requests": n} for t, n in tools.most_common(top)],
    }


def _p90(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]
