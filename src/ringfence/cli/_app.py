"""Root command group; each command group lives in its own module."""

from __future__ import annotations

import click

from ringfence._version import __version__
from ringfence.cli._agentdojo import agentdojo_cmd
from ringfence.cli._approvals import approvals_group, staged_group, ui_cmd
from ringfence.cli._audit import audit_group
from ringfence.cli._bench import bench_group
from ringfence.cli._demo import demo
from ringfence.cli._eval import eval_cmd
from ringfence.cli._incident import incident_group
from ringfence.cli._mcp import mcp_gateway
from ringfence.cli._policy import policy_group
from ringfence.cli._redteam import redteam_cmd
from ringfence.cli._replay import replay_cmd
from ringfence.cli._scan import scan_cmd
from ringfence.cli._serve import keys_group, mock_upstream, serve


@click.group()
@click.version_option(__version__, prog_name="ringfence")
def cli() -> None:
    """ringfence: policy, provenance, guards, approvals and audit for LLM agents."""


for command in (
    policy_group,
    replay_cmd,
    audit_group,
    bench_group,
    demo,
    eval_cmd,
    scan_cmd,
    serve,
    mock_upstream,
    keys_group,
    mcp_gateway,
):
    cli.add_command(command)
for command in (approvals_group, staged_group, ui_cmd, redteam_cmd, incident_group, agentdojo_cmd):
    cli.add_command(command)


def main() -> None:
    cli()
