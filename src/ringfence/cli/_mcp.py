"""``ringfence mcp-gateway``: the MCP tool gateway in front of an MCP server."""

from __future__ import annotations

import functools

import anyio
import click

from ringfence.cli._common import handle_errors
from ringfence.exceptions import ConfigError


@click.command("mcp-gateway", context_settings={"ignore_unknown_options": True})
@click.option(
    "--policy",
    "policy_path",
    required=True,
    type=click.Path(dir_okay=False),
    help="Policy file (YAML/JSON).",
)
@click.option(
    "--db",
    default="ringfence.db",
    show_default=True,
    type=click.Path(dir_okay=False),
    help="SQLite store for the audit log, caps and approvals.",
)
@click.option(
    "--principal",
    default="mcp-client",
    show_default=True,
    help="Principal the gateway's calls act for.",
)
@click.option("--tenant", default=None, help="The principal's tenant.")
@click.option(
    "--upstream-url",
    default=None,
    help="Upstream MCP server over streamable HTTP (instead of COMMAND).",
)
@click.option(
    "--http",
    "http_port",
    type=int,
    default=None,
    metavar="PORT",
    help="Serve streamable HTTP on PORT (http://HOST:PORT/mcp) instead of stdio.",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Host for --http.")
@click.option(
    "--approval-wait",
    default=0.0,
    show_default=True,
    type=float,
    metavar="SECONDS",
    help="Hold a call this long for a person to decide it when it needs approval.",
)
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@handle_errors
def mcp_gateway(policy_path: str, db: str, principal: str, tenant: str | None,
                upstream_url: str | None, http_port: int | None, host: str,
                approval_wait: float, command: tuple[str, ...]) -> None:  # fmt: skip
    """Run the MCP tool gateway in front of an MCP server: ringfence mcp-gateway --policy
    FILE -- COMMAND [ARGS...] (stdio), or --upstream-url URL."""
    from ringfence.policy import Principal, load_policy
    from ringfence.server import open_serving
    from ringfence.server._logs import configure_json_logs
    from ringfence.server._mcp import McpGateway, require_mcp, serve_http, serve_stdio

    require_mcp()
    if bool(command) == bool(upstream_url):
        raise ConfigError("give the upstream as -- COMMAND [ARGS...] or as --upstream-url URL")
    policy = load_policy(policy_path)
    configure_json_logs("info")  # JSON lines on stderr; stdout carries the protocol
    who = Principal(principal, tenant=tenant)
    target: str | list[str] = upstream_url or list(command)
    # the policy's guards: section, or the default guards (tool descriptions and results are
    # screened by the untrusted pipeline, with the injection detector)
    with open_serving(policy, db, approval_wait=approval_wait) as serving:

        def factory(client: object) -> McpGateway:
            return McpGateway(serving.gateway, client, who)  # type: ignore[arg-type,unused-ignore]

        if http_port is None:
            anyio.run(serve_stdio, factory, target)
        else:
            anyio.run(functools.partial(serve_http, factory, target, host, http_port))
