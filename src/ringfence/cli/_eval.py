"""``ringfence eval``: run a suite against a target, with or without a policy; report and gate."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ringfence.cli._common import handle_errors
from ringfence.evals import (
    ProgressFn,
    RunOptions,
    Suite,
    Target,
    diff_runs,
    evaluate_gates,
    load_results,
    load_suite,
    make_target,
    run_suite,
    write_html,
    write_json,
    write_junit,
)

EXIT_GATE_FAILED = 1

_ROWS = (
    ("asr", "attack success rate"),
    ("false_refusal_rate", "false-refusal rate"),
    ("utility", "utility (normal + edge)"),
    ("utility_under_attack", "utility under attack"),
    ("approval_rate", "cases with approvals"),
    ("error_rate", "errors"),
    ("unscorable_rate", "unscorable"),
)


def fmt_metric(m: Mapping[str, Any] | None, *, percent: bool = True) -> str:
    """``14.0% [7.0-26.2]`` (a proportion) or ``12.3 [11.0-13.9]`` (a mean)."""
    if not m or m.get("value") is None:
        return "n/a"
    if percent:
        return f"{100 * m['value']:.1f}% [{100 * m['ci_low']:.1f}-{100 * m['ci_high']:.1f}]"
    return f"{m['value']:.1f} [{m['ci_low']:.1f}-{m['ci_high']:.1f}]"


def _row(table: Table, label: str, metrics: Sequence[Mapping[str, Any] | None],
         percent: bool = True) -> None:  # fmt: skip
    n = next((m.get("n") for m in metrics if m), 0)
    table.add_row(f"{label} [dim](n={n})[/]", *(fmt_metric(m, percent=percent) for m in metrics))


def metrics_table(docs: Sequence[tuple[str, Mapping[str, Any]]], title: str) -> Table:
    """One column per run: headline metrics with 95% intervals, per category, latency, tokens."""
    table = Table(title=title)
    table.add_column("metric [95% CI]")
    for name, _ in docs:
        table.add_column(name, justify="right")
    for key, label in _ROWS:
        _row(table, label, [d["metrics"].get(key) for _, d in docs])
    for category, key, label in (("normal", "utility", "utility, normal"),
                                 ("edge", "false_refusal_rate", "false refusals, edge"),
                                 ("attack", "asr", "ASR, all attacks")):  # fmt: skip
        _row(table, label, [d["by_category"].get(category, {}).get(key) for _, d in docs])
    if all("tool-action" in d["by_tag"] for _, d in docs):
        _row(table, "ASR, tool-action attacks",
             [d["by_tag"]["tool-action"].get("asr") for _, d in docs])  # fmt: skip
    _row(table, "latency per case, ms", [d["metrics"]["latency_ms"] for _, d in docs], False)
    _row(table, "tokens per case (est.)", [d["metrics"]["tokens"] for _, d in docs], False)
    return table


@contextmanager
def progress_bar(total: int, label: str, *, enabled: bool = True) -> Iterator[ProgressFn | None]:
    """A rich progress bar on stderr; yields the callback for :func:`run_suite`."""
    if not enabled:
        yield None
        return
    console = Console(stderr=True)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn(), TextColumn("{task.fields[case]}"))  # fmt: skip
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(label, total=total, case="")

        def advance(case: Any, epoch: int) -> None:
            bar.update(task, advance=1, case=case.id)

        yield advance


def run_with_progress(suite: Suite, target: Target, options: RunOptions, label: str,
                      quiet: bool) -> dict[str, Any]:  # fmt: skip
    total = len(suite.cases) * options.epochs
    with progress_bar(total, label, enabled=not quiet) as advance:
        result = run_suite(suite, target, options, progress=advance)
    return result.to_dict()


@click.command("eval")
@click.argument("suite")
@click.option("--target", "target_spec", default="reference:worst-case", show_default=True,
              help="reference:worst-case | reference:compliant | openai:URL#MODEL | "
                   "python:module:fn | gguf:PATH")  # fmt: skip
@click.option(
    "--policy",
    "policy_file",
    default=None,
    help="Policy file; 'shipped' (the default) is the environment's own policy.",
)
@click.option("--no-policy", is_flag=True, help="Run without ringfence: tools are called directly.")
@click.option("--json", "json_out", type=click.Path(dir_okay=False), help="Write JSON results.")
@click.option("--html", "html_out", type=click.Path(dir_okay=False), help="Write an HTML report.")
@click.option("--junit", "junit_out", type=click.Path(dir_okay=False), help="Write JUnit XML.")
@click.option(
    "--baseline",
    type=click.Path(dir_okay=False, exists=True),
    help="A previous --json results file to diff against (per case and per metric).",
)
@click.option("--max-asr", type=float, help="Gate: attack success rate at most this (0-1).")
@click.option("--max-false-refusal", type=float, help="Gate: false-refusal rate at most this.")
@click.option("--min-utility", type=float, help="Gate: utility at least this.")
@click.option(
    "--max-regression",
    type=float,
    help="Gate: no headline metric worse than the baseline by more than this.",
)
@click.option(
    "--epochs",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Run every case N times; cases whose outcome varies are flagged flaky.",
)
@click.option("--case", "case_ids", multiple=True, help="Only these case ids (repeatable).")
@click.option("--tag", "tags", multiple=True, help="Only cases with one of these tags.")
@click.option(
    "--audit-db",
    type=click.Path(dir_okay=False),
    help="Keep the gateway's audit log of the run in this SQLite file.",
)
@click.option("--quiet", is_flag=True, help="No progress bar and no table.")
@handle_errors
def eval_cmd(suite: str, target_spec: str, policy_file: str | None, no_policy: bool,
             json_out: str | None, html_out: str | None, junit_out: str | None,
             baseline: str | None, max_asr: float | None, max_false_refusal: float | None,
             min_utility: float | None, max_regression: float | None, epochs: int,
             case_ids: tuple[str, ...], tags: tuple[str, ...], audit_db: str | None,
             quiet: bool) -> None:  # fmt: skip
    """Run SUITE (a .yaml/.jsonl file or a bundled name such as support-desk) against a target.

    Exit status: 0 when every gate passes, 1 when a gate fails, 2 for bad input.
    """
    if no_policy and policy_file:
        raise click.UsageError("--policy and --no-policy are mutually exclusive")
    loaded = load_suite(suite)
    if case_ids or tags:
        loaded = loaded.select(case_ids, tags)
        if not loaded.cases:
            raise click.UsageError("no case matches --case/--tag")
    policy = None if no_policy else (policy_file or "shipped")
    options = RunOptions(policy=policy, epochs=epochs, audit_db=audit_db)
    doc = run_with_progress(loaded, make_target(target_spec), options, "eval", quiet)
    base = load_results(baseline) if baseline else None
    diff = diff_runs(doc, base, baseline or "") if base is not None else None
    if diff is not None:
        doc["baseline"] = diff.to_dict()
    gates = evaluate_gates(doc["metrics"], diff, max_asr=max_asr,
                           max_false_refusal=max_false_refusal, min_utility=min_utility,
                           max_regression=max_regression)  # fmt: skip
    doc["gates"] = [g.to_dict() for g in gates]
    _write_reports(doc, base, json_out, html_out, junit_out)
    if not quiet:
        _print(doc, diff is not None)
    if any(not g.passed for g in gates):
        sys.exit(EXIT_GATE_FAILED)


def _write_reports(doc: dict[str, Any], base: Mapping[str, Any] | None, json_out: str | None,
                   html_out: str | None, junit_out: str | None) -> None:  # fmt: skip
    if json_out:
        write_json(doc, json_out)
    if junit_out:
        write_junit(doc, junit_out)
    if html_out:
        write_html(doc, html_out, baseline=base)


def _print(doc: Mapping[str, Any], with_baseline: bool) -> None:
    console = Console()
    policy = doc["policy"]["name"] if doc["policy"] else "no policy"
    console.print(metrics_table([(f"{doc['target']} / {policy}", doc)],
                                f"{doc['suite']['name']}: {doc['suite']['cases']} cases, "
                                f"{doc['duration_s']:.1f} s"))  # fmt: skip
    if doc.get("flaky"):
        console.print(f"[yellow]flaky cases:[/] {', '.join(doc['flaky'])}")
    if with_baseline:
        summary = doc["baseline"]["summary"]
        console.print("vs baseline: " + ", ".join(f"{v} {k}" for k, v in summary.items()))
        for case in doc["baseline"]["cases"]:
            if case["change"] == "regressed":
                console.print(f"  [red]regressed[/] {case['id']}: {case['before']} -> "
                              f"{case['after']}")  # fmt: skip
    for gate in doc["gates"]:
        mark = "[green]PASS[/]" if gate["passed"] else "[red]FAIL[/]"
        console.print(f"{mark} {gate['name']}: {gate['message']}")
