"""``ringfence replay``: feed a JSONL trace through a fresh gateway."""

from __future__ import annotations

import click

from ringfence.cli._common import echo_json, handle_errors
from ringfence.gateway import replay
from ringfence.policy import load_policy


@click.command("replay")
@click.option("--policy", "policy_file", required=True, type=click.Path(dir_okay=False),
              help="Policy file (YAML or JSON).")  # fmt: skip
@click.option("--db", type=click.Path(dir_okay=False), default=None,
              help="Store (audit log, caps) to use; default: a fresh in-memory one.")  # fmt: skip
@click.argument("trace", type=click.Path(dir_okay=False))
@handle_errors
def replay_cmd(policy_file: str, db: str | None, trace: str) -> None:
    """Decide every call in TRACE; print one JSON line per call.

    Tools are not executed unless the policy names a Python `handler` for them.
    """
    policy = load_policy(policy_file)
    for line in replay(policy, trace, db=db):
        echo_json(line)
