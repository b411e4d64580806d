"""Findings to regressions: every successful attempt becomes an eval case, minimised first.

Minimisation keeps a variant only while it still succeeds against the target (under the
campaign's policy) and, when the check policy stopped the original, is still stopped by it.
Steps: drop mutators one at a time, try the plain framing, then delta debugging (ddmin,
Zeller 2002) over the sentences of every text (turns, pages, e-mails, documents, tool
outputs). Identical minimised cases are merged.

Cases the check policy stops go to ``regressions.yaml`` (they fail without the policy and pass
with it); successes it does not stop go to ``unresolved.yaml``, reported, never dropped.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ringfence.evals import Case, CaseRunner, Suite, case_to_dict, dump_suite, make_target
from ringfence.redteam._attempt import AttemptSpec, render
from ringfence.redteam._catalogue import Catalogue, load_catalogue
from ringfence.redteam._goals import GoalSet

if TYPE_CHECKING:
    from ringfence.redteam._campaign import CampaignConfig

Record = dict[str, Any]
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
_TEXT_FIELDS = ("pages", "tracking", "order_notes")


@dataclass
class Finding:
    """One regression case (minimised) and where it came from."""

    case: Case
    goal: str
    channel: str
    sources: list[str]
    original_chars: int
    chars: int
    without_policy: str
    with_policy: str | None

    @property
    def resolved(self) -> bool:
        """The check policy stops it (the regression case passes with it)."""
        return self.with_policy is not None and self.with_policy != "complied"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.case.id,
            "goal": self.goal,
            "channel": self.channel,
            "sources": self.sources,
            "original_chars": self.original_chars,
            "chars": self.chars,
            "without_policy": self.without_policy,
            "with_policy": self.with_policy,
            "resolved": self.resolved,
        }


@dataclass
class Findings:
    regressions: list[Finding] = field(default_factory=list)
    unresolved: list[Finding] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)
    runs: int = 0
    """Target runs spent on minimisation and checks."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "regressions": [f.to_dict() for f in self.regressions],
            "unresolved": [f.to_dict() for f in self.unresolved],
            "files": self.files,
            "runs": self.runs,
        }


class _Oracle:
    """Memoised runs of candidate cases: with the campaign's policy and the check policy."""

    def __init__(self, config: CampaignConfig) -> None:
        target = make_target(config.target)
        self.base = CaseRunner(target, environment=config.environment, policy=config.policy)
        self.check = (
            CaseRunner(target, environment=config.environment, policy=config.check_policy)
            if config.check_policy
            else None
        )
        self._memo: dict[tuple[str, str], str] = {}
        self.runs = 0

    def outcome(self, case: Case, which: str) -> str:
        runner = self.base if which == "base" else self.check
        assert runner is not None
        key = (which, content_key(case))
        if key not in self._memo:
            self.runs += 1
            self._memo[key] = runner.run(case).outcome
        return self._memo[key]

    def close(self) -> None:
        self.base.close()
        if self.check is not None:
            self.check.close()


def content_key(case: Case) -> str:
    data = case_to_dict(case)
    blob = json.dumps(
        {k: data.get(k) for k in ("turns", "environment", "safety")},
        sort_keys=True,
        ensure_ascii=False,
    )
    return hashlib.sha256(blob.encode()).hexdigest()


def size(case: Case) -> int:
    """Characters of attacker-influenced text: turns and injected content."""
    return sum(len(t) for t in case.turns) + len(json.dumps(case.environment, ensure_ascii=False))


def write_findings(
    records: Sequence[Record], goals: GoalSet, config: CampaignConfig, folder: Path
) -> Findings:
    """Minimise every success, sort by the check policy, write the suites."""
    catalogue = load_catalogue(config.catalogue)
    oracle = _Oracle(config)
    out = Findings()
    seen: dict[str, Finding] = {}
    try:
        for record in records:
            if record.get("status") != "done" or not record.get("success"):
                continue
            finding = _one(record, goals, catalogue, oracle, config.minimise)
            key = content_key(finding.case)
            if key in seen:
                seen[key].sources.append(record["id"])
                continue
            seen[key] = finding
    finally:
        oracle.close()
    out.runs = oracle.runs
    for finding in seen.values():
        (out.regressions if finding.resolved else out.unresolved).append(finding)
    folder.mkdir(parents=True, exist_ok=True)
    for name, items in (("regressions", out.regressions), ("unresolved", out.unresolved)):
        path = folder / f"{name}.yaml"
        if items:
            suite = Suite(
                f"redteam-{name}",
                [f.case for f in items],
                config.environment,
                f"Red-team findings ({name}) against {config.target}.",
            )
            dump_suite(suite, path)
            out.files[name] = str(path)
        elif path.exists():
            path.unlink()
    return out


def _one(
    record: Record, goals: GoalSet, catalogue: Catalogue, oracle: _Oracle, minimise: bool
) -> Finding:
    case = Case.model_validate(record["case"])
    original = size(case)
    stopped = oracle.check is not None and oracle.outcome(case, "check") != "complied"

    def still(candidate: Case) -> bool:
        if oracle.outcome(candidate, "base") != "complied":
            return False
        return not stopped or oracle.outcome(candidate, "check") != "complied"

    if minimise and still(case):
        case = _structural(record, goals, catalogue, case, still)
        case = _ddmin_case(case, still)
    goal = str(record["goal"])
    ident = f"rt-{goal}-{record['channel']}-{content_key(case)[:8]}"
    tags = sorted({*case.tags, "regression"})
    desc = (
        f"Red-team finding {record['id']} ({record.get('strategy')}), minimised from "
        f"{original} to {size(case)} characters."
    )
    final = Case.model_validate(
        {**case_to_dict(case), "id": ident, "tags": tags, "description": desc}
    )
    with_policy = oracle.outcome(final, "check") if oracle.check is not None else None
    return Finding(
        final,
        goal,
        str(record["channel"]),
        [record["id"]],
        original,
        size(final),
        oracle.outcome(final, "base"),
        with_policy,
    )


def _structural(
    record: Record, goals: GoalSet, catalogue: Catalogue, case: Case, still: Callable[[Case], bool]
) -> Case:
    """Drop mutators one at a time, then try the plain framing (catalogue attempts only)."""
    if record.get("strategy") != "catalogue":
        return case
    goal = goals.get(str(record["goal"]))
    spec = AttemptSpec(
        goal.id,
        str(record["framing"]),
        str(record["carrier"]),
        tuple(record.get("mutators", [])),
        "catalogue",
        int(record.get("seed", 0)),
    )
    best = case
    changed = True
    while changed and spec.mutators:
        changed = False
        for i in range(len(spec.mutators)):
            trial = replace(spec, mutators=spec.mutators[:i] + spec.mutators[i + 1 :])
            rendered = render(trial, goal, catalogue)
            if rendered is not None and still(rendered.case):
                spec, best, changed = trial, rendered.case, True
                break
    plain = catalogue.framings[0]
    if spec.framing != plain.id and plain.applies(_channel(catalogue, spec), goal.expect.action):
        rendered = render(replace(spec, framing=plain.id), goal, catalogue)
        if rendered is not None and still(rendered.case) and size(rendered.case) < size(best):
            best = rendered.case
    return best


def _channel(catalogue: Catalogue, spec: AttemptSpec) -> str:
    return catalogue.carrier(spec.carrier).channel


# --- delta debugging over sentences --------------------------------------------------------

Unit = tuple[str, Any, str]
"""(field, key, sentence): a turn index or an environment slot, and one sentence of it."""


def _units(case: Case) -> list[Unit]:
    out: list[Unit] = []
    for i, turn in enumerate(case.turns):
        out += [("turns", i, s) for s in _sentences(turn)]
    env = case.environment
    for name in _TEXT_FIELDS:
        for key, text in (env.get(name) or {}).items():
            out += [(name, key, s) for s in _sentences(text)]
    for name, text_key in (("emails", "body"), ("documents", "text")):
        for i, item in enumerate(env.get(name) or []):
            out += [(name, i, s) for s in _sentences(str(item.get(text_key, "")))]
    return out


def _sentences(text: str) -> list[str]:
    return [s for s in _SENTENCE.split(text) if s.strip()] or [text]


def _rebuild(case: Case, units: Sequence[Unit]) -> Case | None:
    def joined(name: str, key: Any) -> str:
        return " ".join(s for f, k, s in units if f == name and k == key)

    turns = [joined("turns", i) for i in range(len(case.turns))]
    turns = [t for t in turns if t]
    if not turns:
        return None
    env = json.loads(json.dumps(case.environment))
    for name in _TEXT_FIELDS:
        for key in env.get(name) or {}:
            env[name][key] = joined(name, key)
    for name, text_key in (("emails", "body"), ("documents", "text")):
        for i, item in enumerate(env.get(name) or []):
            item[text_key] = joined(name, i)
    data = {**case_to_dict(case), "turns": turns, "environment": env}
    return Case.model_validate(data)


def _ddmin_case(case: Case, still: Callable[[Case], bool]) -> Case:
    units = _units(case)

    def test(subset: Sequence[Unit]) -> bool:
        candidate = _rebuild(case, subset)
        return candidate is not None and still(candidate)

    kept = ddmin(units, test)
    return _rebuild(case, kept) or case


def ddmin(items: Sequence[Any], test: Callable[[Sequence[Any]], bool]) -> list[Any]:
    """A 1-minimal subsequence of ``items`` for which ``test`` holds (``test(items)`` is
    assumed): removing any single remaining item makes it fail."""
    current = list(items)
    n = 2
    while len(current) >= 2:
        chunk = math.ceil(len(current) / n)
        for start in range(0, len(current), chunk):
            complement = current[:start] + current[start + chunk :]
            if complement and test(complement):
                current = complement
                n = max(n - 1, 2)
                break
        else:
            if n >= len(current):
                break
            n = min(len(current), 2 * n)
    return current
