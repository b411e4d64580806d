"""Benchmark: the bundled support-desk suite on the scripted reference agent.

Runs the full suite for each scripted model, without and with the shipped policy, ``--repeat``
times, and prints JSON: wall-clock and CPU seconds per run (min and median), cases per second,
the headline metrics of the last run and, with the policy, what its guards flagged on the benign
(normal and edge) cases: untrusted tool outputs screened and flagged, user turns flagged, answers
blocked (each flag there is a false positive: a flagged tool output taints its values and sends
later refunds, e-mails and cancellations to a person). The machine's load average is recorded,
because wall time on a shared machine depends on it.

    ringfence bench eval --json
    ringfence bench eval --json --repeat 1 --untrusted-threshold 0.742   # a sensitivity run
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from typing import Any

import click
import yaml

from ringfence.agents.support_desk import load_shipped_policy, policy_path
from ringfence.evals import RunOptions, load_suite, make_target, run_suite
from ringfence.policy import Policy, policy_from_yaml

HEADLINE = ("asr", "false_refusal_rate", "utility", "utility_under_attack")


def _one(
    suite: Any, target_spec: str, policy: Policy | str | None
) -> tuple[float, float, dict[str, Any]]:
    target = make_target(target_spec)
    wall, cpu = time.perf_counter(), time.process_time()
    doc = run_suite(suite, target, RunOptions(policy=policy)).to_dict()
    return time.perf_counter() - wall, time.process_time() - cpu, doc


def _summary(doc: dict[str, Any]) -> dict[str, Any]:
    out = {k: doc["metrics"][k]["value"] for k in HEADLINE}
    out["asr_tool_action"] = doc["by_tag"].get("tool-action", {}).get("asr", {}).get("value")
    out["utility_normal"] = doc["by_category"]["normal"]["utility"]["value"]
    out["false_refusal_rate_edge"] = doc["by_category"]["edge"]["false_refusal_rate"]["value"]
    out["asr_output_attack"] = doc["by_tag"].get("output-attack", {}).get("asr", {}).get("value")
    return out


def _benign_flags(doc: dict[str, Any]) -> dict[str, Any]:
    """What the shipped policy's guards flagged on normal and edge cases (false positives)."""
    policy = load_shipped_policy()
    untrusted = {n for n, t in policy.tools.items() if not t.spec.output.trusted}
    benign = [c for c in doc["cases"] if c["category"] in ("normal", "edge")]
    screened = sum(1 for c in benign for call in c["calls"]
                   if call["ok"] and call["tool"] in untrusted)  # fmt: skip
    events = [(c["id"], e) for c in benign for e in c["guard_events"] if e["verdict"] != "pass"]
    flagged = [f"{cid} {e['source']}: {e['reason']}" for cid, e in events
               if e["stage"] == "tool_output"]  # fmt: skip
    return {
        "tool_outputs_screened": screened,
        "tool_outputs_flagged": len(flagged),
        "user_turns_flagged": sum(1 for _, e in events if e["stage"] == "input"),
        "answers_blocked": sum(1 for _, e in events if e["stage"] == "output"),
        "flagged": flagged,
    }


def _with_untrusted_threshold(threshold: float) -> Policy:
    """The shipped policy with another threshold for its ``untrusted`` injection guard."""
    doc = yaml.safe_load(policy_path().read_text(encoding="utf-8"))
    steps = [s for s in doc["guards"]["untrusted"] if s["use"] == "injection"]
    for step in steps:
        step["threshold"] = threshold
    return policy_from_yaml(yaml.safe_dump(doc), source=f"shipped, untrusted threshold {threshold}")


@click.command()
@click.option("--repeat", default=3, show_default=True, help="Runs per configuration.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON only (the default output).")
@click.option("--untrusted-threshold", type=click.FloatRange(0, 1), default=None,
              help="Run the shipped policy with this threshold for its untrusted-content "
                   "injection guard (sensitivity; default: as shipped).")  # fmt: skip
def cli(repeat: int, as_json: bool, untrusted_threshold: float | None) -> None:
    """Time the full bundled suite with the scripted models, without and with the policy."""
    suite = load_suite("support-desk")
    load_before = os.getloadavg()
    shipped: Policy | str = "shipped"
    if untrusted_threshold is not None:
        shipped = _with_untrusted_threshold(untrusted_threshold)
    runs = []
    for target in ("reference:worst-case", "reference:compliant"):
        for policy in (None, shipped):
            walls, cpus, doc = [], [], {}
            for _ in range(repeat):
                wall, cpu, doc = _one(suite, target, policy)
                walls.append(wall)
                cpus.append(cpu)
            runs.append({
                "target": target,
                "policy": "none" if policy is None else "shipped",
                "cases": len(suite.cases),
                "wall_s_min": round(min(walls), 3),
                "wall_s_median": round(statistics.median(walls), 3),
                "cpu_s_median": round(statistics.median(cpus), 3),
                "cases_per_s": round(len(suite.cases) / statistics.median(walls), 1),
                "metrics": _summary(doc),
                **({"benign_guard_flags": _benign_flags(doc)} if policy else {}),
            })  # fmt: skip
    result = {
        "benchmark": "eval",
        "suite": suite.name,
        "repeat": repeat,
        "untrusted_threshold": untrusted_threshold,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "loadavg_before": [round(x, 2) for x in load_before],
                    "loadavg_after": [round(x, 2) for x in os.getloadavg()]},
        "runs": runs,
    }  # fmt: skip
    click.echo(json.dumps(result, indent=None if as_json else 2))
