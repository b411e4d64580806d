"""Benchmark: the bundled support-desk suite on the scripted reference agent.

Runs the full suite for each scripted model, without and with the shipped policy, ``--repeat``
times, and prints JSON: wall-clock and CPU seconds per run (min and median), cases per second,
and the headline metrics of the last run. The machine's load average is recorded, because wall
time on a shared machine depends on it.

    ringfence bench eval --json
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from typing import Any

import click

from ringfence.evals import RunOptions, load_suite, make_target, run_suite

HEADLINE = ("asr", "false_refusal_rate", "utility", "utility_under_attack")


def _one(suite: Any, target_spec: str, policy: str | None) -> tuple[float, float, dict[str, Any]]:
    target = make_target(target_spec)
    wall, cpu = time.perf_counter(), time.process_time()
    doc = run_suite(suite, target, RunOptions(policy=policy)).to_dict()
    return time.perf_counter() - wall, time.process_time() - cpu, doc


def _summary(doc: dict[str, Any]) -> dict[str, Any]:
    out = {k: doc["metrics"][k]["value"] for k in HEADLINE}
    out["asr_tool_action"] = doc["by_tag"].get("tool-action", {}).get("asr", {}).get("value")
    out["utility_normal"] = doc["by_category"]["normal"]["utility"]["value"]
    out["false_refusal_rate_edge"] = doc["by_category"]["edge"]["false_refusal_rate"]["value"]
    return out


@click.command()
@click.option("--repeat", default=3, show_default=True, help="Runs per configuration.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON only (the default output).")
def cli(repeat: int, as_json: bool) -> None:
    """Time the full bundled suite with the scripted models, without and with the policy."""
    suite = load_suite("support-desk")
    load_before = os.getloadavg()
    runs = []
    for target in ("reference:worst-case", "reference:compliant"):
        for policy in (None, "shipped"):
            walls, cpus, doc = [], [], {}
            for _ in range(repeat):
                wall, cpu, doc = _one(suite, target, policy)
                walls.append(wall)
                cpus.append(cpu)
            runs.append({
                "target": target,
                "policy": policy or "none",
                "cases": len(suite.cases),
                "wall_s_min": round(min(walls), 3),
                "wall_s_median": round(statistics.median(walls), 3),
                "cpu_s_median": round(statistics.median(cpus), 3),
                "cases_per_s": round(len(suite.cases) / statistics.median(walls), 1),
                "metrics": _summary(doc),
            })  # fmt: skip
    result = {
        "benchmark": "eval",
        "suite": suite.name,
        "repeat": repeat,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "loadavg_before": [round(x, 2) for x in load_before],
                    "loadavg_after": [round(x, 2) for x in os.getloadavg()]},
        "runs": runs,
    }  # fmt: skip
    click.echo(json.dumps(result, indent=None if as_json else 2))
