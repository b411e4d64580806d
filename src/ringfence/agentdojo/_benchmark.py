"""Running AgentDojo through ringfence: which units, in how many processes, and the figures."""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from ringfence.agentdojo._agents import AgentKind
from ringfence.agentdojo._loader import (
    AGENTDOJO_REQUIREMENT,
    BENCHMARK_VERSION,
    DEFAULT_MODEL_NAME,
    GOAL_ATTACKS,
    SUITES,
    attack_names,
    suite,
)
from ringfence.agentdojo._recording import MODES, Mode
from ringfence.agentdojo._report import summarise
from ringfence.agentdojo._run import Context, Outcome, Unit, run_unit
from ringfence.agents import make_model
from ringfence.exceptions import ConfigError


@dataclass
class BenchmarkConfig:
    """What to run. ``user_tasks`` / ``injection_tasks`` restrict every suite to those ids (a
    sample); ``benign``: also run each user task without an injection (utility)."""

    agent: AgentKind = "oracle"
    suites: list[str] = field(default_factory=lambda: list(SUITES))
    pack: str = "default"
    attacks: list[str] = field(default_factory=lambda: ["important_instructions"])
    modes: list[Mode] = field(default_factory=lambda: ["span"])
    user_tasks: list[str] | None = None
    injection_tasks: list[str] | None = None
    benign: bool = True
    attacked: bool = True
    jobs: int = 1
    model: str | None = None
    """The ``llm`` agent's model: ``openai:URL#MODEL`` or ``gguf:PATH``."""
    model_name: str = DEFAULT_MODEL_NAME
    """The name attacks address the model by (must contain a name AgentDojo knows)."""
    synthetic: bool = True
    """Use our ground truths for workspace injection tasks 6-13 (AgentDojo's are empty)."""
    max_steps: int = 15
    utility_under_attack: bool | None = None
    """Check utility in attacked runs (default: yes, except for the worst-case agent, whose
    utility under attack says little and costs AgentDojo's slowest check)."""

    def check(self) -> None:
        unknown = [s for s in self.suites if s not in SUITES]
        if unknown:
            raise ConfigError(f"unknown suites {unknown}; known: {', '.join(SUITES)}")
        bad_modes = [m for m in self.modes if m not in MODES]
        if bad_modes or not self.modes:
            raise ConfigError(f"modes must be some of {', '.join(MODES)}, got {self.modes}")
        if self.agent == "llm" and not self.model:
            raise ConfigError("the llm agent needs --model (openai:URL#MODEL or gguf:PATH)")
        known = attack_names()
        bad = [a for a in self.attacks if a not in known]
        if bad:
            raise ConfigError(
                f"unknown attacks {bad}; goal-carrying ones: {', '.join(GOAL_ATTACKS)}"
            )

    def checks_utility_under_attack(self) -> bool:
        if self.utility_under_attack is None:
            return self.agent != "worst-case"
        return self.utility_under_attack

    def describe(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("jobs")
        data["utility_under_attack"] = self.checks_utility_under_attack()
        return {
            "benchmark": f"AgentDojo {BENCHMARK_VERSION}",
            "agentdojo": AGENTDOJO_REQUIREMENT,
            **data,
        }


def units(config: BenchmarkConfig) -> list[Unit]:
    """Every benign user task and every (user task, injection task, attack) to run."""
    out: list[Unit] = []
    for name in config.suites:
        s = suite(name)
        users = [u for u in s.user_tasks if config.user_tasks is None or u in config.user_tasks]
        injections = [
            i
            for i in s.injection_tasks
            if config.injection_tasks is None or i in config.injection_tasks
        ]
        if config.benign:
            out += [Unit(name, u) for u in users]
        if config.attacked:
            out += [Unit(name, u, i, a) for a in config.attacks for u in users for i in injections]
    return out


_WORKER: dict[str, tuple[Context, BenchmarkConfig]] = {}
"""A pool worker's context (one per process)."""


def _context(config: BenchmarkConfig) -> Context:
    model = make_model(config.model) if config.agent == "llm" and config.model else None
    return Context(
        pack=config.pack,
        model=model,
        model_name=config.model_name,
        synthetic=config.synthetic,
        max_steps=config.max_steps,
        utility_under_attack=config.checks_utility_under_attack(),
    )


def _init_worker(config: BenchmarkConfig) -> None:
    _WORKER["this"] = (_context(config), config)


def _work(unit: Unit) -> list[Outcome]:
    ctx, config = _WORKER["this"]
    return run_unit(ctx, unit, [config.agent], list(config.modes))


def _run_all(config: BenchmarkConfig, todo: list[Unit]) -> Iterator[list[Outcome]]:
    if config.jobs <= 1:
        ctx = _context(config)
        try:
            for unit in todo:
                yield run_unit(ctx, unit, [config.agent], list(config.modes))
        finally:
            ctx.close()
        return
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    pool = multiprocessing.get_context(method).Pool(
        config.jobs, initializer=_init_worker, initargs=(config,)
    )
    with pool:
        yield from pool.imap_unordered(_work, todo, chunksize=4)


Progress = Callable[[int, int], None]


def run_benchmark(
    config: BenchmarkConfig, progress: Progress | None = None
) -> tuple[dict[str, Any], list[Outcome]]:
    """Run the benchmark; returns the figures (the CLI's JSON) and every outcome."""
    config.check()
    todo = units(config)
    start = time.perf_counter()
    outcomes: list[Outcome] = []
    for count, done in enumerate(_run_all(config, todo), 1):
        outcomes.extend(done)
        if progress is not None:
            progress(count, len(todo))
    figures = summarise(outcomes, {**config.describe(), "modes": list(config.modes)})
    figures["wall_s"] = round(time.perf_counter() - start, 1)
    return figures, outcomes
