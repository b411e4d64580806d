"""``ringfence approvals``, ``ringfence staged`` and ``ringfence ui``: the operator surfaces.

The CLI acts for the person at the terminal: ``--as NAME`` must be an active approver, and the
same rules apply as on the web page (roles, never one's own request, two-person). Whoever can
run it can also write the database file; protect that file accordingly.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from ringfence.approval import (
    ApprovalQueue,
    ApprovalRequest,
    StagingArea,
    approval_stats,
    create_token,
    list_approvers,
    list_tokens,
    revoke_token,
    sync_approvers,
)
from ringfence.cli._common import echo_json, handle_errors
from ringfence.exceptions import ConfigError
from ringfence.gateway import Gateway
from ringfence.policy import load_policy, parse_duration
from ringfence.store import SqliteStore

_DB = click.option(
    "--db",
    required=True,
    type=click.Path(dir_okay=False, exists=True),
    help="Store file (the database of the audit log).",
)
_JSON = click.option("--json", "as_json", is_flag=True, help="Print JSON.")
_STATES = ("pending", "approved", "denied", "expired", "cancelled", "executed")


@contextmanager
def _queue(db: str) -> Iterator[ApprovalQueue]:
    with ApprovalQueue(db) as queue:
        queue.expire_due()
        yield queue


def _when(ts: float | None) -> str:
    return "-" if ts is None else time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))


@click.group("approvals")
def approvals_group() -> None:
    """Approval requests: list, show, approve, deny, cancel, stats, tokens, approvers."""


@approvals_group.command("list")
@_DB
@click.option(
    "--state",
    "states",
    multiple=True,
    type=click.Choice(_STATES),
    help="Only these states (repeatable; default: pending).",
)
@click.option("--all", "all_states", is_flag=True, help="Every state.")
@click.option("--limit", default=100, show_default=True)
@_JSON
@handle_errors
def list_cmd(db: str, states: tuple[str, ...], all_states: bool, limit: int, as_json: bool) -> None:
    """List approval requests, newest first."""
    wanted = () if all_states else (states or ("pending",))
    with _queue(db) as queue:
        reqs = queue.list_requests(states=wanted, limit=limit)
    if as_json:
        echo_json([r.to_dict() for r in reqs])
        return
    table = Table(title=f"approval requests ({', '.join(wanted) or 'all'})")
    for col in ("id", "tool", "for", "state", "rules", "created", "expires"):
        table.add_column(col)
    for r in reqs:
        table.add_row(
            r.id,
            r.tool,
            r.principal.id,
            r.state,
            ", ".join(r.rules),
            _when(r.created_at),
            _when(r.expires_at),
        )
    Console().print(table)


@approvals_group.command("show")
@_DB
@click.argument("request_id")
@_JSON
@handle_errors
def show(db: str, request_id: str, as_json: bool) -> None:
    """Show one request: arguments with their provenance, risk, votes and trail."""
    with _queue(db) as queue:
        req = queue.get(request_id)
        votes, trail = queue.votes(request_id), queue.transitions(request_id)
    if as_json:
        echo_json(
            req.to_dict()
            | {"votes": [v.__dict__ for v in votes], "trail": [t.__dict__ for t in trail]}
        )
        return
    _print_request(req)
    for v in votes:
        click.echo(f"vote: {v.approver} {v.decision} at {_when(v.ts)}: {v.reason}")
    for t in trail:
        click.echo(
            f"trail: {_when(t.ts)} {t.action} by {t.actor or '-'}: "
            f"{t.from_state or '-'} -> {t.to_state} {t.reason}"
        )


def _print_request(req: ApprovalRequest) -> None:
    click.echo(
        f"request {req.id}: {req.tool} [{req.state}] for {req.principal.id} "
        f"(session {req.session}, agent {req.agent or '-'})"
    )
    click.echo(f"rules: {', '.join(req.rules)}; why: {'; '.join(req.reasons)}")
    click.echo(
        f"expires: {_when(req.expires_at)}; two-person: {req.two_person}; roles: "
        f"{[list(g) for g in req.roles] or 'any'}"
    )
    for arg, value in req.args.items():
        prov = req.provenance.get(arg, {})
        click.echo(f"  {arg} = {value!r}  [{prov.get('status', 'unknown')}]")
        for leaf in prov.get("leaves", []):
            for o in leaf.get("origins", []):
                text = o.get("text", "")
                marked = "".join(
                    f"[{text[s:e_]}]" if i % 2 else text[s:e_]
                    for i, (s, e_) in enumerate(_cuts(text, o.get("spans", [])))
                )
                field = f"#{o['field']}" if o.get("field") else ""
                trust = "trusted" if o["trusted"] else "untrusted"
                flag = ", FLAGGED" if o["tainted"] else ""
                click.echo(f"    from {o['source']}{field} ({trust}{flag}): {marked[:300]}")
    if req.execution:
        click.echo(f"execution: {req.execution}: {req.result or ''}")


def _cuts(text: str, spans: list[list[int]]) -> list[tuple[int, int]]:
    """Alternating plain / highlighted ranges covering ``text``."""
    out, pos = [], 0
    for start, end in sorted((int(a), int(b)) for a, b in spans):
        if start < pos:
            continue
        out += [(pos, start), (start, end)]
        pos = end
    return [*out, (pos, len(text))]


def _decide(db: str, request_id: str, approver: str, decision: str, reason: str) -> None:
    with _queue(db) as queue:
        req = queue.decide(
            request_id, approver, "approve" if decision == "approve" else "deny", reason
        )
    click.echo(
        f"{req.id}: {req.state}"
        + (" (waiting for a second approver)" if req.state == "pending" else "")
    )


@approvals_group.command("approve")
@_DB
@click.argument("request_id")
@click.option("--as", "approver", required=True, help="Approver name (from the policy).")
@click.option("--reason", default="", help="Why.")
@handle_errors
def approve(db: str, request_id: str, approver: str, reason: str) -> None:
    """Approve a pending request (idempotent; one approver of two when two-person)."""
    _decide(db, request_id, approver, "approve", reason)


@approvals_group.command("deny")
@_DB
@click.argument("request_id")
@click.option("--as", "approver", required=True, help="Approver name (from the policy).")
@click.option("--reason", required=True, help="Why (required).")
@handle_errors
def deny(db: str, request_id: str, approver: str, reason: str) -> None:
    """Deny a pending request."""
    _decide(db, request_id, approver, "deny", reason)


@approvals_group.command("cancel")
@_DB
@click.argument("request_id")
@click.option("--reason", default="", help="Why.")
@handle_errors
def cancel(db: str, request_id: str, reason: str) -> None:
    """Withdraw a pending or approved (not yet executed) request."""
    with _queue(db) as queue:
        click.echo(f"{queue.cancel(request_id, actor='cli', reason=reason).id}: cancelled")


@approvals_group.command("stats")
@_DB
@click.option("--since", default=None, help="Only requests newer than this (e.g. 7d, 24h).")
@_JSON
@handle_errors
def stats(db: str, since: str | None, as_json: bool) -> None:
    """The blast-radius report: counts, time to decision, expiries, rules causing approvals."""
    try:
        start = time.time() - parse_duration(since) if since else None
    except ValueError as exc:
        raise ConfigError(f"--since: {exc}") from exc
    with _queue(db) as queue:
        data = approval_stats(queue.store, since=start)
    if as_json:
        echo_json(data)
        return
    _print_stats(data)


def _print_stats(data: dict[str, Any]) -> None:
    console = Console()
    table = Table(title=f"approvals: {data['requests']} requests")
    table.add_column("measure")
    table.add_column("value")
    for state, n in data["by_state"].items():
        table.add_row(f"state {state}", str(n))
    median, share = data["median_decision_s"], data["expired_share"]
    table.add_row("median time to decision", "-" if median is None else f"{median:.1f} s")
    table.add_row("expired share", "-" if share is None else f"{share:.1%}")
    for row in data["top_rules"]:
        table.add_row(f"rule {row['rule']}", str(row["requests"]))
    console.print(table)


@approvals_group.group("token")
def token_group() -> None:
    """Approver tokens for the web page and API (stored hashed)."""


@token_group.command("create")
@_DB
@click.option("--approver", required=True, help="Approver name (from the policy).")
@click.option("--expires", default="30d", show_default=True, help="Lifetime ('never': none).")
@handle_errors
def token_create(db: str, approver: str, expires: str) -> None:
    """Create a token; it is printed once and stored only as a hash."""
    try:
        lifetime = None if expires == "never" else parse_duration(expires)
    except ValueError as exc:
        raise ConfigError(f"--expires: {exc}") from exc
    with ApprovalQueue(db) as queue:
        token_id, token = create_token(queue.store, queue.audit, approver, time.time(), lifetime)
    click.echo(f"token {token_id} for {approver} (shown once, keep it secret):")
    click.echo(token)


@token_group.command("list")
@_DB
@handle_errors
def token_list(db: str) -> None:
    """List tokens (ids and dates, never secrets)."""
    with SqliteStore(db) as store:
        for t in list_tokens(store):
            state = "revoked" if t.revoked_at else "active"
            click.echo(
                f"{t.id} {t.approver} {state} created {_when(t.created_at)} "
                f"expires {_when(t.expires_at)} last used {_when(t.last_used_at)}"
            )


@token_group.command("revoke")
@_DB
@click.argument("token_id")
@handle_errors
def token_revoke(db: str, token_id: str) -> None:
    """Revoke a token (its web sessions end at once)."""
    with ApprovalQueue(db) as queue:
        ok = revoke_token(queue.store, queue.audit, token_id, time.time())
    click.echo(f"{token_id}: {'revoked' if ok else 'not found or already revoked'}")


@approvals_group.group("approvers")
def approvers_group() -> None:
    """Approvers, as synced from the policy's ``approvers:`` section."""


@approvers_group.command("sync")
@click.option("--db", required=True, type=click.Path(dir_okay=False), help="Store file.")
@click.option("--policy", "policy_file", required=True, type=click.Path(dir_okay=False))
@handle_errors
def approvers_sync(db: str, policy_file: str) -> None:
    """Make the store's approvers those of the policy (others become inactive)."""
    policy = load_policy(policy_file)
    with ApprovalQueue(db) as queue:
        n = sync_approvers(queue.store, policy, queue.audit, time.time())
    click.echo(f"{n} approvers active (policy {policy.name!r})")


@approvers_group.command("list")
@_DB
@handle_errors
def approvers_list(db: str) -> None:
    """List approvers and their roles."""
    with SqliteStore(db) as store:
        for a in list_approvers(store):
            roles = ", ".join(sorted(a.roles)) or "-"
            click.echo(f"{a.name} roles: {roles}{'' if a.active else ' (inactive)'}")


@click.group("staged")
def staged_group() -> None:
    """Staged changes of reversible tools: list, show, commit, rollback."""


@staged_group.command("list")
@_DB
@click.option("--all", "all_states", is_flag=True, help="Also committed and rolled back.")
@_JSON
@handle_errors
def staged_list(db: str, all_states: bool, as_json: bool) -> None:
    """List staged changes, newest first."""
    with StagingArea(db) as area:
        changes = area.list_changes(states=() if all_states else ("staged",))
    if as_json:
        echo_json([c.to_dict() for c in changes])
        return
    for c in changes:
        click.echo(
            f"{c.id} {c.state:<11} {c.tool} {c.args} for {c.principal} "
            f"at {_when(c.created_at)} {c.outcome or ''}"
        )


@staged_group.command("show")
@_DB
@click.argument("change_id")
@handle_errors
def staged_show(db: str, change_id: str) -> None:
    """Show one staged change as JSON."""
    with StagingArea(db) as area:
        echo_json(area.get(change_id).to_dict(), pretty=True)


@staged_group.command("commit")
@_DB
@click.argument("change_id")
@click.option(
    "--policy",
    "policy_file",
    required=True,
    type=click.Path(dir_okay=False),
    help="The policy; the tool's `handler` (module:function) is what runs.",
)
@click.option("--as", "actor", required=True, help="Who commits it.")
@click.option("--reason", default="")
@handle_errors
def staged_commit(db: str, change_id: str, policy_file: str, actor: str, reason: str) -> None:
    """Re-check the policy and caps, then execute the change once (with the policy's handler)."""
    policy = load_policy(policy_file)
    with StagingArea(db) as area, Gateway(policy, store=area.store, audit=area.audit) as gw:
        change = area.get(change_id)
        gw.add_function(_handler(policy, change.tool), name=change.tool)
        result = area.commit(gw, change_id, actor=actor, reason=reason)
    click.echo(f"{change_id}: {'committed' if result.executed else 'refused'}: {result.message}")
    if not result.executed:
        raise SystemExit(1)


def _handler(policy: Any, tool: str) -> Any:
    compiled = policy.tools.get(tool)
    spec = compiled.spec.handler if compiled else None
    if not spec:
        raise ConfigError(f"tool {tool!r} has no `handler: module:function` in the policy")
    module, _, attr = spec.partition(":")
    try:
        return getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"tool {tool!r}: cannot import handler {spec!r}: {exc}") from exc


@staged_group.command("rollback")
@_DB
@click.argument("change_id")
@click.option("--as", "actor", required=True, help="Who rolls it back.")
@click.option("--reason", default="")
@handle_errors
def staged_rollback(db: str, change_id: str, actor: str, reason: str) -> None:
    """Discard a staged change; it never takes effect."""
    with StagingArea(db) as area:
        change = area.rollback(change_id, actor=actor, reason=reason)
    click.echo(f"{change.id}: {change.state}")


@click.command("ui")
@click.option("--db", required=True, type=click.Path(dir_okay=False), help="Store file.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8765, show_default=True, type=int)
@click.option(
    "--policy",
    "policy_file",
    default=None,
    type=click.Path(dir_okay=False),
    help="Sync the approvers of this policy first.",
)
@click.option("--secure-cookies", is_flag=True, help="Mark cookies Secure (behind HTTPS).")
@handle_errors
def ui_cmd(db: str, host: str, port: int, policy_file: str | None, secure_cookies: bool) -> None:
    """Serve the approver web page (queue, provenance, approve/deny, trail)."""
    import uvicorn

    from ringfence.approval import create_app

    if policy_file:
        with ApprovalQueue(db, policy=load_policy(policy_file)):
            pass
    app = create_app(db, secure_cookies=secure_cookies)
    click.echo(f"ringfence approvals on http://{host}:{port}/ (sign in with an approver token)")
    uvicorn.run(app, host=host, port=port, log_level="warning")
