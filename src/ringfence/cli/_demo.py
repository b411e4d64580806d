"""``ringfence demo``: the bundled suite on the reference agent, without and with the shipped
policy, side by side; then a short replay of a recorded trace with audit-log verification."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from ringfence.audit import verify_chain
from ringfence.cli._common import handle_errors
from ringfence.cli._eval import metrics_table, run_with_progress
from ringfence.evals import RunOptions, load_suite, make_target, write_html, write_json
from ringfence.gateway import replay
from ringfence.policy import load_policy

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "support_desk"
TARGET = "reference:worst-case"


@click.command("demo")
@click.option("--out", default="out", show_default=True, type=click.Path(file_okay=False),
              help="Folder for the demo's reports and database.")  # fmt: skip
@handle_errors
def demo(out: str) -> None:
    """Run the bundled support-desk suite on the worst-case scripted agent, without and with the
    shipped policy; print both side by side and write an HTML report."""
    console = Console()
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    suite = load_suite("support-desk")
    console.print(f"[bold]1. {len(suite.cases)} cases of suite {suite.name!r} on {TARGET}[/] "
                  "(obeys every instruction it reads: the upper bound for injection)")  # fmt: skip
    target = make_target(TARGET)
    bare = run_with_progress(suite, target, RunOptions(policy=None), "without policy", False)
    guarded = run_with_progress(suite, target, RunOptions(policy="shipped", audit_db=None),
                                "with shipped policy", False)  # fmt: skip
    console.print(metrics_table([("no policy", bare), ("shipped policy", guarded)],
                                "the same suite, without and with ringfence"))  # fmt: skip
    _still_succeeding(console, guarded)
    write_json(bare, folder / "eval-no-policy.json")
    write_json(guarded, folder / "eval-shipped-policy.json")
    report = write_html(guarded, folder / "eval-report.html", baseline=bare)
    console.print(f"HTML report (shipped policy vs no policy): [bold]{report.resolve()}[/]")
    _replay(console, folder)


def _still_succeeding(console: Console, doc: dict[str, Any]) -> None:
    rows = [r for r in doc["cases"] if r["category"] == "attack" and r["outcome"] == "complied"]
    _guard_false_positives(console, doc)
    if not rows:
        console.print("Attacks that still succeed with the policy: [green]none[/] (against "
                      "this scripted agent: see docs/evals.md for the limits)")  # fmt: skip
        return
    console.print(f"Attacks that still succeed with the policy: {len(rows)}")
    for row in (r for r in rows if "tool-action" in r["tags"]):
        why = row.get("description") or "a tool action the policy allowed"
        console.print(f"  [red]tool action[/] {row['id']}: {why}")
    others = [r["id"] for r in rows if "tool-action" not in r["tags"]]
    if others:
        console.print(f"  no tool action to stop (leaks in the answer, or to the customer "
                      f"herself: a job for output guards): {', '.join(others)}")  # fmt: skip


def _guard_false_positives(console: Console, doc: dict[str, Any]) -> None:
    """What the policy's guards flagged on benign (normal and edge) cases, and what it cost."""
    benign = [r for r in doc["cases"] if r["category"] in ("normal", "edge")]
    flagged = [(r, e) for r in benign for e in r.get("guard_events", []) if e["verdict"] != "pass"]
    if not flagged:
        return
    cases = {r["id"] for r, _ in flagged}
    failed = {r["id"] for r, _ in flagged if not r["task_success"]}
    console.print(f"Guards flagged content in {len(cases)} benign case(s): false positives "
                  f"(of those cases, tasks failed: {len(failed)}):")  # fmt: skip
    for row, event in flagged:
        console.print(f"  [yellow]{event['stage']}[/] {row['id']} {event['source']}: "
                      f"{event['reason']}")  # fmt: skip


def _replay(console: Console, folder: Path) -> None:
    trace = EXAMPLES / "trace.jsonl"
    if not trace.is_file():  # installed without the source checkout's examples/
        return
    console.print("\n[bold]2. A recorded trace replayed through the example policy[/]")
    db = folder / "demo.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    table = Table()
    for col in ("tool", "decision", "rules"):
        table.add_column(col)
    for row in replay(load_policy(EXAMPLES / "policy.yaml"), trace, db=db):
        colour = {"allow": "green", "deny": "red", "approve": "yellow"}.get(
            row["decision"], "magenta"
        )
        table.add_row(row["tool"], f"[{colour}]{row['decision']}[/]", ", ".join(row["rules"]))
    console.print(table)
    result = verify_chain(db)
    console.print(f"audit log {db}: {'ok' if result.ok else 'TAMPERED'}: {result.message}")
