"""Benchmark: AgentDojo (v1.2.2) through ringfence, both model-free agents over all suites.

Runs the oracle agent (utility, approvals) and the worst-case agent (targeted ASR) over every
user task and every (user task, injection task) pair of the four suites with the default policy
packs, and prints JSON: wall time per agent and in all (the target is under 10 minutes on the
2-core development machine), the machine's load, and the headline figures per suite. Needs
the extra: pip install 'ringfence[agentdojo]'.

    ringfence bench agentdojo --json
"""

from __future__ import annotations

import json
import os
import platform
import time
from typing import Any

import click

from ringfence.agentdojo import SUITES, BenchmarkConfig, run_benchmark

KEYS = (
    "n_user_tasks",
    "utility",
    "utility_with_approvals",
    "approvals_per_task",
    "n_pairs",
    "targeted_asr",
    "targeted_asr_autonomous",
    "targeted_asr_raw",
    "utility_under_attack",
    "utility_under_attack_with_approvals",
    "per_attack",
    "errors",
)


def _brief(figures: dict[str, Any]) -> dict[str, Any]:
    pick = lambda section: {k: section.get(k) for k in KEYS}  # noqa: E731
    return {
        "wall_s": figures["wall_s"],
        "suites": {name: pick(s) for name, s in figures["suites"].items()},
        "overall": pick(figures["overall"]),
    }


@click.command()
@click.option("--jobs", default=2, show_default=True, help="Worker processes.")
@click.option("--attack", default="important_instructions", show_default=True)
@click.option("--mode", default="span", show_default=True)
@click.option("--pack", default="default", show_default=True)
@click.option("--suites", default=",".join(SUITES), show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON only (the default output).")
def cli(jobs: int, attack: str, mode: str, pack: str, suites: str, as_json: bool) -> None:
    """Wall time of both model-free agents over all AgentDojo suites, with the figures."""
    load_before = os.getloadavg()
    start = time.perf_counter()
    runs = {}
    for agent in ("oracle", "worst-case"):
        config = BenchmarkConfig(
            agent=agent,
            suites=suites.split(","),
            pack=pack,
            attacks=attack.split(","),
            modes=mode.split(","),  # type: ignore[arg-type]
            jobs=jobs,
        )
        figures, _ = run_benchmark(config)
        runs[agent] = _brief(figures)
    total = round(time.perf_counter() - start, 1)
    click.echo(
        json.dumps(
            {
                "benchmark": "agentdojo",
                "attack": attack,
                "mode": mode,
                "pack": pack,
                "jobs": jobs,
                "total_wall_s": total,
                "machine": {
                    "cpus": os.cpu_count(),
                    "python": platform.python_version(),
                    "loadavg_before": [round(x, 2) for x in load_before],
                    "loadavg_after": [round(x, 2) for x in os.getloadavg()],
                },
                "runs": runs,
            },
            indent=None if as_json else 2,
        )
    )
