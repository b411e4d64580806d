"""``ringfence agentdojo``: run AgentDojo's suites with every tool call through the gateway and
report utility, utility with approvals and targeted attack success, per suite, attack and mode.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ringfence.cli._common import handle_errors


def _split(value: str | None) -> list[str] | None:
    if not value:
        return None
    return [v.strip() for v in value.split(",") if v.strip()]


@contextmanager
def _progress(enabled: bool) -> Iterator[Any]:
    if not enabled:
        yield None
        return
    columns = (TextColumn("[bold]runs"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("runs", total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)


def _pct(value: float | None) -> str:
    return "   -  " if value is None else f"{100 * value:5.1f}%"


def _echo_table(figures: dict[str, Any]) -> None:
    click.echo(f"AgentDojo {figures['benchmark']} | agent {figures['agent']} | "
               f"pack {figures['pack']} | attacks {', '.join(figures['attacks'])}")  # fmt: skip
    click.echo("mode           suite       utility  w/approvals  approvals/task  ASR    "
               "ASR(autonomous)  pairs")  # fmt: skip
    for mode, data in figures["by_mode"].items():
        rows = [*data["suites"].items(), ("overall", data["overall"])]
        for name, s in rows:
            click.echo(
                f"{mode:14s} {name:10s} {_pct(s['utility'])}  {_pct(s['utility_with_approvals'])}"
                f"       {s['approvals_per_task'] or 0:5.2f}        {_pct(s['targeted_asr'])} "
                f"{_pct(s['targeted_asr_autonomous'])}        {s['n_pairs']}"
            )
    click.echo(f"wall time {figures['wall_s']} s; errors {figures['errors']}")


@click.command("agentdojo")
@click.option(
    "--agent",
    type=click.Choice(["oracle", "worst-case", "llm"]),
    default="oracle",
    show_default=True,
    help="oracle: ground truth; worst-case: obeys every injection; llm: a real model (--model).",
)
@click.option(
    "--suites",
    default="workspace,travel,banking,slack",
    show_default=True,
    help="Comma-separated suites.",
)
@click.option(
    "--policy-pack",
    "pack",
    default="default",
    show_default=True,
    help="default (the shipped packs), none (allow every tool, no guards), or a directory "
    "with SUITE.yaml policies.",
)
@click.option(
    "--attack",
    default="important_instructions",
    show_default=True,
    help="An AgentDojo attack, a comma-separated list, or 'all' (the six that carry the "
    "injection's goal).",
)
@click.option(
    "--mode",
    default="span",
    show_default=True,
    help="Provenance granularity: item, field, span, span-trusting, a comma-separated list, or "
    "'all'.",
)
@click.option(
    "--json", "json_out", default=None, help="Write the figures as JSON here ('-': stdout)."
)
@click.option("--rows", default=None, help="Write one JSON line per run here (what got through).")
@click.option("--jobs", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--user-tasks", default=None, help="Only these user task ids (comma-separated).")
@click.option(
    "--injection-tasks", default=None, help="Only these injection task ids (comma-separated)."
)
@click.option("--model", default=None, help="The llm agent's model: openai:URL#MODEL or gguf:PATH.")
@click.option(
    "--model-name",
    default=None,
    help="The model name attacks address (default gpt-4o-2024-05-13, the reference model).",
)
@click.option(
    "--no-synthetic-gt",
    is_flag=True,
    help="Do not use our ground truths for workspace injection tasks 6-13 (AgentDojo's are empty).",
)
@click.option("--no-benign", is_flag=True, help="Skip the runs without an injection.")
@click.option(
    "--utility-under-attack/--no-utility-under-attack",
    default=None,
    help="Check utility in attacked runs (default: not for the worst-case agent).",
)
@click.option("--max-steps", type=click.IntRange(min=1), default=15, show_default=True)
@click.option("--quiet", is_flag=True, help="No progress bar.")
@handle_errors
def agentdojo_cmd(**options: Any) -> None:
    """Run AgentDojo (v1.2.2) through the gateway: every tool call is decided by the suite's
    policy pack, with provenance from every result the agent saw, guards on tool outputs and a
    simulated operator for approvals; AgentDojo's own checks score utility and attack success.
    Needs the extra: pip install 'ringfence[agentdojo]'."""
    from ringfence.agentdojo import GOAL_ATTACKS, MODES, BenchmarkConfig, run_benchmark

    attacks = list(GOAL_ATTACKS) if options["attack"] == "all" else _split(options["attack"])
    modes = list(MODES) if options["mode"] == "all" else _split(options["mode"])
    config = BenchmarkConfig(
        agent=options["agent"],
        suites=_split(options["suites"]) or [],
        pack=options["pack"],
        attacks=attacks or [],
        modes=modes or [],  # type: ignore[arg-type]  # checked by config.check()
        user_tasks=_split(options["user_tasks"]),
        injection_tasks=_split(options["injection_tasks"]),
        benign=not options["no_benign"],
        jobs=options["jobs"],
        model=options["model"],
        synthetic=not options["no_synthetic_gt"],
        max_steps=options["max_steps"],
        utility_under_attack=options["utility_under_attack"],
    )
    if options["model_name"]:
        config.model_name = options["model_name"]
    show = not options["quiet"] and options["json_out"] != "-"
    with _progress(show) as progress:
        figures, outcomes = run_benchmark(config, progress)
    if options["rows"]:
        with Path(options["rows"]).open("w", encoding="utf-8") as f:
            for outcome in outcomes:
                f.write(json.dumps(outcome.to_dict(), ensure_ascii=False) + "\n")
    text = json.dumps(figures, indent=2, ensure_ascii=False)
    if options["json_out"] == "-":
        click.echo(text)
        return
    if options["json_out"]:
        Path(options["json_out"]).write_text(text + "\n", encoding="utf-8")
    _echo_table(figures)
