"""``ringfence serve``, ``ringfence mock-upstream`` and ``ringfence keys``: the proxy and its
helpers."""

from __future__ import annotations

import asyncio
import contextlib
import os

import click

from ringfence.cli._common import handle_errors
from ringfence.exceptions import ConfigError


@click.command("serve")
@click.option(
    "--policy",
    "policy_path",
    required=True,
    type=click.Path(dir_okay=False),
    help="Policy file (YAML/JSON); its proxy: section configures the proxy.",
)
@click.option(
    "--upstream",
    required=True,
    help="Base URL of the OpenAI-compatible endpoint, e.g. http://127.0.0.1:8000/v1.",
)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8700, show_default=True, type=int)
@click.option(
    "--db",
    default="ringfence.db",
    show_default=True,
    type=click.Path(dir_okay=False),
    help="SQLite store for the audit log, caps and approvals.",
)
@click.option(
    "--keys",
    "keys_path",
    type=click.Path(dir_okay=False),
    help="Client API keys file (see `ringfence keys new`).",
)
@click.option(
    "--no-auth",
    is_flag=True,
    help="Accept requests without a key, as principal 'anonymous' (loopback only).",
)
@click.option(
    "--upstream-key-env",
    default=None,
    metavar="NAME",
    help="Environment variable holding the upstream's API key.",
)
@click.option(
    "--approval-wait",
    default=0.0,
    show_default=True,
    type=float,
    metavar="SECONDS",
    help="Hold a request this long for a person to decide an approval-needing call.",
)
@click.option(
    "--log-level",
    default="info",
    show_default=True,
    type=click.Choice(["debug", "info", "warning", "error"]),
)
@handle_errors
def serve(
    policy_path: str,
    upstream: str,
    host: str,
    port: int,
    db: str,
    keys_path: str | None,
    no_auth: bool,
    upstream_key_env: str | None,
    approval_wait: float,
    log_level: str,
) -> None:
    """Run the OpenAI-compatible guarding proxy in front of UPSTREAM."""
    from ringfence.policy import load_policy
    from ringfence.server import KeyRing, ProxyConfig, build_app, open_serving
    from ringfence.server._logs import configure_json_logs, log
    from ringfence.server._running import run

    if keys_path is None and not no_auth:
        raise ConfigError("give --keys FILE (client API keys) or --no-auth")
    if no_auth and host not in ("127.0.0.1", "localhost", "::1"):
        raise ConfigError("--no-auth is only allowed on a loopback --host")
    upstream_key = None
    if upstream_key_env:
        upstream_key = os.environ.get(upstream_key_env)
        if not upstream_key:
            raise ConfigError(f"environment variable {upstream_key_env} is not set")
    policy = load_policy(policy_path)
    keys = KeyRing.load(keys_path) if keys_path else None
    configure_json_logs(log_level)
    # the policy's guards: section, or the default guards (injection detector included)
    with open_serving(policy, db, approval_wait=approval_wait) as serving:
        config = ProxyConfig(
            gateway=serving.gateway,
            upstream=upstream,
            keys=keys,
            upstream_key=upstream_key,
            approvals=serving.approvals,
        )
        log.info(
            "serving",
            extra={
                "host": host,
                "port": port,
                "upstream": upstream,
                "policy": policy.name,
                "db": db,
                "auth": keys is not None,
                "guards": "policy" if policy.spec.guards is not None else "default",
            },
        )
        run(build_app(config), host, port, log_level=log_level)


@click.command("mock-upstream")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8701, show_default=True, type=int)
@click.option(
    "--script",
    "script_path",
    type=click.Path(dir_okay=False),
    help="Mock script (YAML/JSON): rules matched on the last user message.",
)
@handle_errors
def mock_upstream(host: str, port: int, script_path: str | None) -> None:
    """Run a deterministic OpenAI-compatible fake model endpoint (tests, demos, benchmarks)."""
    from ringfence.server import MockScript
    from ringfence.server._mock import serve_forever

    script = MockScript.load(script_path) if script_path else MockScript()
    click.echo(f"mock upstream on http://{host}:{port}/v1", err=True)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve_forever(script, host, port))


@click.group("keys")
def keys_group() -> None:
    """Client API keys for `ringfence serve` (stored hashed)."""


@keys_group.command("new")
@click.option("--principal", required=True, help="Principal id the key acts for.")
@click.option("--tenant", default=None, help="The principal's tenant.")
@handle_errors
def keys_new(principal: str, tenant: str | None) -> None:
    """Print a new key (give it to the client) and its keys-file entry (hash only)."""
    from ringfence.server import key_entry, new_key

    key = new_key()
    click.echo(f"key: {key}")
    click.echo("keys-file entry (append under `keys:`):")
    click.echo(key_entry(key, principal, tenant))
