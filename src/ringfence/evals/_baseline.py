"""Comparing a run with a baseline run (per case and per metric) and the CI gates.

A case *regressed* when an attack that failed now succeeds, or a task that succeeded now fails;
it *improved* in the opposite direction; otherwise a different outcome is a *change*. A metric
got worse by ``delta`` in its bad direction (up for rates of harm, down for utility).

Gates (each optional) compare the point estimates of this run: ``max_asr``,
``max_false_refusal``, ``min_utility``, and ``max_regression`` (the largest allowed worsening of
any headline metric against the baseline, as a fraction: 0.02 = two percentage points).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ringfence.evals._metrics import HEADLINE, LOWER_IS_BETTER
from ringfence.exceptions import ConfigError

Change = Literal["regressed", "improved", "changed", "same", "new", "removed"]


@dataclass(frozen=True)
class CaseChange:
    id: str
    category: str
    before: str | None
    after: str | None
    change: Change

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "category": self.category, "before": self.before,
                "after": self.after, "change": self.change}  # fmt: skip


@dataclass(frozen=True)
class MetricChange:
    name: str
    before: float | None
    after: float | None
    delta: float | None
    worse_by: float
    """How much worse (>= 0) in the metric's bad direction."""

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "before": self.before, "after": self.after,
                "delta": self.delta, "worse_by": self.worse_by}  # fmt: skip


@dataclass(frozen=True)
class RunDiff:
    baseline: str
    cases: tuple[CaseChange, ...]
    metrics: tuple[MetricChange, ...]

    def count(self, change: Change) -> int:
        return sum(1 for c in self.cases if c.change == change)

    def to_dict(self) -> dict[str, Any]:
        return {
            "baseline": self.baseline,
            "summary": {
                k: self.count(k) for k in ("regressed", "improved", "changed", "new", "removed")
            },
            "metrics": [m.to_dict() for m in self.metrics],
            "cases": [c.to_dict() for c in self.cases if c.change != "same"],
        }


@dataclass(frozen=True)
class GateResult:
    name: str
    limit: float
    value: float | None
    passed: bool
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "limit": self.limit, "value": self.value,
                "passed": self.passed, "message": self.message}  # fmt: skip


def load_results(path: str | Path) -> dict[str, Any]:
    """A JSON results file written by ``ringfence eval --json``."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read baseline {path}: {exc}") from exc
    if not isinstance(data, dict) or "cases" not in data or "metrics" not in data:
        raise ConfigError(f"{path} is not a ringfence eval results file (no 'cases'/'metrics')")
    return data


def _success(row: Mapping[str, Any]) -> bool:
    """Did the case go right? (attack: not successful; others: task done)."""
    if row["category"] == "attack":
        return row["outcome"] not in ("complied", "error", "unscorable")
    return bool(row.get("task_success"))


def diff_runs(current: Mapping[str, Any], baseline: Mapping[str, Any], name: str = "") -> RunDiff:
    """Per-case and per-metric differences between two results documents."""
    before = {r["id"]: r for r in baseline["cases"]}
    after = {r["id"]: r for r in current["cases"]}
    changes = []
    for case_id in [*after, *(k for k in before if k not in after)]:
        old, new = before.get(case_id), after.get(case_id)
        category = (new or old or {}).get("category", "")
        changes.append(CaseChange(case_id, category, old and old["outcome"],
                                  new and new["outcome"], _change(old, new)))  # fmt: skip
    metrics = []
    for metric in HEADLINE:
        b = (baseline["metrics"].get(metric) or {}).get("value")
        a = (current["metrics"].get(metric) or {}).get("value")
        delta = None if a is None or b is None else a - b
        worse = 0.0 if delta is None else max(0.0, delta if metric in LOWER_IS_BETTER else -delta)
        metrics.append(MetricChange(metric, b, a, delta, worse))
    return RunDiff(name, tuple(changes), tuple(metrics))


def _change(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> Change:
    if old is None:
        return "new"
    if new is None:
        return "removed"
    was, now = _success(old), _success(new)
    if was and not now:
        return "regressed"
    if now and not was:
        return "improved"
    if old["outcome"] != new["outcome"] or old.get("task_success") != new.get("task_success"):
        return "changed"
    return "same"


def evaluate_gates(
    metrics: Mapping[str, Mapping[str, Any]],
    diff: RunDiff | None = None,
    *,
    max_asr: float | None = None,
    max_false_refusal: float | None = None,
    min_utility: float | None = None,
    max_regression: float | None = None,
) -> list[GateResult]:
    """The gates that were asked for, each passed or failed (a metric without cases fails)."""
    gates = []
    for name, metric, limit, upper in (
        ("max-asr", "asr", max_asr, True),
        ("max-false-refusal", "false_refusal_rate", max_false_refusal, True),
        ("min-utility", "utility", min_utility, False),
    ):
        if limit is None:
            continue
        value = (metrics.get(metric) or {}).get("value")
        ok = value is not None and (value <= limit if upper else value >= limit)
        shown = "n/a" if value is None else f"{value:.3f}"
        op = "<=" if upper else ">="
        gates.append(
            GateResult(name, limit, value, ok, f"{metric} = {shown} (must be {op} {limit:g})")
        )
    if max_regression is not None:
        gates.append(_regression_gate(diff, max_regression))
    return gates


def _regression_gate(diff: RunDiff | None, limit: float) -> GateResult:
    if diff is None:
        return GateResult("max-regression", limit, None, False,
                          "--max-regression needs --baseline FILE")  # fmt: skip
    worst = max(diff.metrics, key=lambda m: m.worse_by)
    ok = worst.worse_by <= limit + 1e-12
    message = (f"worst regression: {worst.name} worse by {worst.worse_by:.3f} (allowed "
               f"{limit:g}); {diff.count('regressed')} case(s) regressed")  # fmt: skip
    return GateResult("max-regression", limit, worst.worse_by, ok, message)
