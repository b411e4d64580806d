"""``ringfence policy``: validate and inspect policy files."""

from __future__ import annotations

import sys

import click

from ringfence.cli._common import EXIT_USAGE, echo_json
from ringfence.exceptions import PolicyError
from ringfence.policy import load_policy


@click.group("policy")
def policy_group() -> None:
    """Validate and inspect policy files."""


@policy_group.command("check")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def check(file: str, as_json: bool) -> None:
    """Validate FILE: exit 0 when valid, 2 with every problem (file, line, path, reason)."""
    try:
        policy = load_policy(file)
    except PolicyError as exc:
        if as_json:
            echo_json({"ok": False, "errors": [str(p) for p in exc.problems]})
        else:
            for problem in exc.problems:
                click.echo(f"error: {problem}", err=True)
        sys.exit(EXIT_USAGE)
    rules = sum(len(list(t.rule_ids())) for t in policy.tools.values())
    if as_json:
        echo_json({"ok": True, "policy": policy.name, "tools": len(policy.tools),
                   "rules": rules, "digest": policy.digest})  # fmt: skip
    else:
        click.echo(f"ok: policy {policy.name!r}: {len(policy.tools)} tools, {rules} rules")


@policy_group.command("rules")
@click.argument("file", type=click.Path(dir_okay=False))
def rules(file: str) -> None:
    """List every rule id of FILE, per tool, with what it does."""
    try:
        policy = load_policy(file)
    except PolicyError as exc:
        for problem in exc.problems:
            click.echo(f"error: {problem}", err=True)
        sys.exit(EXIT_USAGE)
    for name, tool in policy.tools.items():
        click.echo(f"{name}  (effect: {tool.spec.effect})")
        for check_ in tool.checks:
            click.echo(f"  {check_.rule_id:<48} {check_.outcome}")
        for cap in tool.caps:
            click.echo(
                f"  {cap.id:<48} cap {cap.kind} <= {cap.max:g} / {cap.window:g}s per {cap.per}"
            )
        for prov in tool.provenance:
            click.echo(f"  {prov.id:<48} provenance {prov.args} from {prov.from_}")
