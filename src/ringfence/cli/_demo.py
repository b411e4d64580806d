"""``ringfence demo``: the main job on the bundled defaults."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from ringfence.audit import verify_chain
from ringfence.cli._common import handle_errors
from ringfence.gateway import replay
from ringfence.policy import load_policy

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "support_desk"


@click.command("demo")
@click.option("--out", default="out", show_default=True, type=click.Path(file_okay=False),
              help="Folder for the demo's database and reports.")  # fmt: skip
@handle_errors
def demo(out: str) -> None:
    """Replay the bundled support-desk trace through its policy and verify the audit log."""
    console = Console()
    policy = load_policy(EXAMPLES / "policy.yaml")
    db = Path(out) / "demo.db"
    db.parent.mkdir(parents=True, exist_ok=True)
    db.unlink(missing_ok=True)
    table = Table(title=f"policy {policy.name!r}: decisions for {EXAMPLES / 'trace.jsonl'}")
    for col in ("line", "tool", "decision", "rules", "reason"):
        table.add_column(col)
    for row in replay(policy, EXAMPLES / "trace.jsonl", db=db):
        colour = {"allow": "green", "deny": "red", "approve": "yellow"}.get(
            row["decision"], "magenta"
        )
        table.add_row(str(row["line"]), row["tool"], f"[{colour}]{row['decision']}[/]",
                      ", ".join(row["rules"]), (row["reasons"] or [""])[0][:70])  # fmt: skip
    console.print(table)
    result = verify_chain(db)
    console.print(f"audit log {db}: {'ok' if result.ok else 'TAMPERED'}: {result.message}")
