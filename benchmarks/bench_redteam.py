"""Benchmark: red-team campaigns against the scripted support-desk agent.

Runs the default campaign (catalogue + PAIR/TAP/crescendo with the scripted attacker) with
``--budget`` target runs, without and with the shipped policy, ``--repeat`` times, and prints
JSON: attempts per second (target runs / wall time of the attempts, minimisation excluded),
the time minimisation and the regression checks took, and the campaign's figures (success
rates overall and on tool-action goals, channels with a success, findings). The machine's load
average is recorded, because wall time on a shared machine depends on it.

    ringfence bench redteam --json
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import tempfile
import time
from typing import Any

import click

from ringfence.redteam import CampaignConfig, campaign_doc, run_campaign


def _one(config: CampaignConfig) -> tuple[float, float, dict[str, Any]]:
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        result = run_campaign(config, folder)
        total = time.perf_counter() - start
        return result.duration_s, total, campaign_doc(result)


def _figures(doc: dict[str, Any]) -> dict[str, Any]:
    s = doc["summary"]
    findings = doc["findings"] or {"regressions": [], "unresolved": []}
    return {
        "executed": s["overall"]["executed"],
        "invalid": s["overall"]["invalid"],
        "success_rate": s["overall"]["rate"],
        "tool_action_success_rate": s["tool_action"]["rate"],
        "tool_action_successes": s["tool_action"]["successes"],
        "tool_action_executed": s["tool_action"]["executed"],
        "tool_action_goals_reached": sorted(
            g
            for g, m in doc["by_goal"].items()
            if m["successes"] and doc["goal_kinds"].get(g) == "tool-action"
        ),
        "channels": s["channels"],
        "channels_with_success": s["channels_with_success"],
        "regression_cases": len(findings["regressions"]),
        "unresolved": len(findings["unresolved"]),
        "attacker": s["attacker"],
    }


@click.command()
@click.option("--budget", default=400, show_default=True, help="Target runs per campaign.")
@click.option("--repeat", default=3, show_default=True, help="Runs per configuration.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON only (the default output).")
def cli(budget: int, repeat: int, as_json: bool) -> None:
    """Attempts per second of the default campaign on the scripted worst-case agent."""
    load_before = os.getloadavg()
    runs = []
    for policy in (None, "shipped"):
        config = CampaignConfig(budget=budget, policy=policy)
        attempts, totals, doc = [], [], {}
        for _ in range(repeat):
            duration, total, doc = _one(config)
            attempts.append(doc["summary"]["overall"]["executed"] / duration)
            totals.append(total)
        runs.append(
            {
                "target": config.target,
                "policy": policy or "none",
                "budget": budget,
                "attempts_per_s_median": round(statistics.median(attempts), 1),
                "attempts_per_s_min": round(min(attempts), 1),
                "campaign_with_findings_s_median": round(statistics.median(totals), 2),
                "figures": _figures(doc),
            }
        )
    click.echo(
        json.dumps(
            {
                "benchmark": "redteam",
                "repeat": repeat,
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
