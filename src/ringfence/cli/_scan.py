"""``ringfence scan``: run a guard pipeline on text from a file or stdin."""

from __future__ import annotations

import sys
from typing import Any

import click

from ringfence.cli._common import echo_json, handle_errors
from ringfence.exceptions import ConfigError
from ringfence.guards import Direction, GuardPipeline, GuardReport, build_pipeline
from ringfence.policy import load_policy


def report_dict(report: GuardReport) -> dict[str, Any]:
    """The JSON shape of one scan: verdict, findings (with the action taken), latency, errors."""
    result = report.result
    findings = [
        {
            "guard": f.guard,
            "kind": f.kind,
            "score": round(f.score, 4),
            "span": list(f.span) if f.span else None,
            "message": f.message,
            "action": action,
        }
        for f, action in zip(result.findings, report.actions, strict=True)
    ]
    out: dict[str, Any] = {
        "verdict": result.verdict,
        "findings": findings,
        "latency_ms": round(result.latency_ms, 3),
    }
    if result.errors:
        out["errors"] = list(result.errors)
    if result.text is not None:
        out["text"] = result.text
    return out


def _read(source: str) -> str:
    try:
        if source == "-":
            return sys.stdin.buffer.read().decode("utf-8")
        with open(source, encoding="utf-8") as fh:
            return fh.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{source}: cannot read text: {exc}") from exc


def _print_text(data: dict[str, Any]) -> None:
    click.echo(f"verdict: {data['verdict']}  ({data['latency_ms']} ms)")
    for f in data["findings"]:
        span = f"[{f['span'][0]}:{f['span'][1]}]" if f["span"] else "(whole text)"
        click.echo(
            f"  {f['action']:<8} {f['guard']}/{f['kind']}  {f['score']:.2f}  {span}  {f['message']}"
        )
    for error in data.get("errors", []):
        click.echo(f"  error: {error}")


@click.command("scan")
@click.argument("file", default="-", type=click.Path(allow_dash=True, dir_okay=False))
@click.option(
    "--policy",
    "policy_file",
    type=click.Path(dir_okay=False),
    help="Policy whose 'guards:' section to use (default: the default pipelines).",
)
@click.option(
    "--direction",
    type=click.Choice(["input", "untrusted", "output"]),
    default="input",
    show_default=True,
    help="Which pipeline to run.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object.")
@click.option(
    "--jsonl",
    "as_jsonl",
    is_flag=True,
    help="Scan each input line separately; print one JSON object per line.",
)
@handle_errors
def scan_cmd(
    file: str, policy_file: str | None, direction: str, as_json: bool, as_jsonl: bool
) -> None:
    """Check the text in FILE (default: stdin) with a guard pipeline.

    Prints {"verdict", "findings", "latency_ms"}. Exit status 1 when a verdict is block or error.
    """
    text = _read(file)
    pipeline = build_pipeline(load_policy(policy_file) if policy_file else None)
    with pipeline:
        blocked = _scan_lines(pipeline, text, direction) if as_jsonl else False
        if not as_jsonl:
            data = report_dict(pipeline.evaluate(text, None, _direction(direction)))
            if as_json:
                echo_json(data)
            else:
                _print_text(data)
            blocked = data["verdict"] in ("block", "error")
    if blocked:
        sys.exit(1)


def _scan_lines(pipeline: GuardPipeline, text: str, direction: str) -> bool:
    blocked = False
    for line in text.splitlines():
        data = report_dict(pipeline.evaluate(line, None, _direction(direction)))
        blocked = blocked or data["verdict"] in ("block", "error")
        echo_json(data)
    return blocked


def _direction(name: str) -> Direction:
    if name == "untrusted":
        return "untrusted"
    return "output" if name == "output" else "input"
