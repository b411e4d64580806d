"""Results: one run of one case, a case over several epochs, and a whole suite run (the JSON
report is :meth:`RunResult.to_dict`)."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

from ringfence.agents import Transcript
from ringfence.evals._metrics import Metric, by_category, by_tag, compute, metrics_to_dict
from ringfence.evals._schema import Case, Outcome
from ringfence.evals._scoring import CheckResult, Score, worst

SCHEMA = "ringfence.eval/1"
_OUTPUT_LIMIT = 4000


@dataclass
class CaseResult:
    """One run (epoch) of one case."""

    case: Case
    score: Score
    transcript: Transcript
    state: dict[str, Any] | None
    latency_s: float
    epoch: int = 0
    error: str | None = None

    @property
    def outcome(self) -> Outcome:
        return self.score.outcome

    @property
    def approvals(self) -> int:
        return sum(1 for c in self.transcript.calls if c.decision == "approve")

    @property
    def blocked_calls(self) -> int:
        return sum(1 for c in self.transcript.calls if c.blocked)

    def brief(self) -> dict[str, Any]:
        return {"epoch": self.epoch, "outcome": self.outcome,
                "task_success": self.score.task_success,
                "attack_success": self.score.attack_success}  # fmt: skip


@dataclass
class CaseSummary:
    """A case over all its epochs: the worst outcome counts; differing epochs make it flaky."""

    case: Case
    runs: list[CaseResult] = field(default_factory=list)

    @property
    def outcome(self) -> Outcome:
        return worst([r.outcome for r in self.runs], self.case.category == "attack")

    @property
    def task_success(self) -> bool:
        return all(r.score.task_success for r in self.runs)

    @property
    def attack_success(self) -> bool | None:
        if self.case.category != "attack":
            return None
        return any(r.outcome in ("complied", "error", "unscorable") for r in self.runs)

    @property
    def flaky(self) -> bool:
        seen = {(r.outcome, r.score.task_success) for r in self.runs}
        return len(seen) > 1

    @property
    def representative(self) -> CaseResult:
        """The first run that ended with the case's (worst) outcome."""
        return next(r for r in self.runs if r.outcome == self.outcome)

    def to_dict(self) -> dict[str, Any]:
        rep = self.representative
        checks: list[CheckResult] = list(rep.score.checks)
        return {
            "id": self.case.id,
            "category": self.case.category,
            "tags": list(self.case.tags),
            "description": self.case.description,
            "outcome": self.outcome,
            "task_success": self.task_success,
            "attack_success": self.attack_success,
            "has_task": not self.case.expect.empty(),
            "refused": rep.score.refused,
            "flaky": self.flaky,
            "epochs": [r.brief() for r in self.runs],
            "reason": rep.score.reason or rep.error or "",
            "checks": [c.to_dict() for c in checks],
            "calls": [c.to_dict() for c in rep.transcript.calls],
            "turns": list(self.case.turns),
            "output": rep.transcript.output[:_OUTPUT_LIMIT],
            "guard_events": [vars(e) for e in rep.transcript.guard_events],
            "latency_ms": round(statistics.fmean(r.latency_s for r in self.runs) * 1000, 3),
            "tokens": round(statistics.fmean(r.transcript.usage.total for r in self.runs), 1),
            "tokens_estimated": rep.transcript.usage.estimated,
            "approvals": max(r.approvals for r in self.runs),
            "blocked_calls": max(r.blocked_calls for r in self.runs),
            "model_calls": rep.transcript.model_calls,
        }


@dataclass
class RunResult:
    """A suite run: its cases and metrics (overall, per category, per tag)."""

    suite: dict[str, Any]
    target: str
    policy: dict[str, Any] | None
    epochs: int
    started: str
    duration_s: float
    cases: list[CaseSummary]
    extra: dict[str, Any] = field(default_factory=dict)
    _rows: list[dict[str, Any]] | None = field(default=None, repr=False)

    def rows(self) -> list[dict[str, Any]]:
        if self._rows is None:
            self._rows = [c.to_dict() for c in self.cases]
        return self._rows

    def metrics(self) -> dict[str, Metric]:
        """Every metric with its 95% interval (see :mod:`ringfence.evals._metrics`)."""
        return compute(self.rows())

    def to_dict(self) -> dict[str, Any]:
        rows = self.rows()
        return {
            "schema": SCHEMA,
            "suite": self.suite,
            "target": self.target,
            "policy": self.policy,
            "epochs": self.epochs,
            "started": self.started,
            "duration_s": round(self.duration_s, 3),
            "metrics": metrics_to_dict(compute(rows)),
            "by_category": {k: metrics_to_dict(v) for k, v in by_category(rows).items()},
            "by_tag": {k: metrics_to_dict(v) for k, v in by_tag(rows).items()},
            "flaky": [r["id"] for r in rows if r["flaky"]],
            **self.extra,
            "cases": rows,
        }
