"""Approvers (declared in the policy, synced into the store) and their access tokens.

The policy's ``approvers:`` section is the source of truth; :func:`sync_approvers` copies it into
the store so that the operator surfaces (``ringfence approvals``, ``ringfence ui``) need only
the database. An approver missing from the last synced policy is inactive: their tokens stop
working and their votes are refused.

A token is ``rfa_<id>_<secret>`` with 256 random bits of secret; the store keeps only
``sha256(secret)`` (a random secret needs no slow hash) and compares in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import sqlite3
from dataclasses import dataclass

from ringfence.approval._events import ApprovalEvent
from ringfence.approval._records import write_tx
from ringfence.audit import AuditLog
from ringfence.exceptions import ConfigError, StoreError
from ringfence.policy import Policy
from ringfence.store import SqliteStore

TOKEN_PREFIX = "rfa_"  # noqa: S105 - a prefix, not a secret
_DUMMY_HASH = hashlib.sha256(b"ringfence-no-such-token").hexdigest()


@dataclass(frozen=True)
class Approver:
    """A person who may decide approval requests."""

    name: str
    roles: frozenset[str]
    active: bool = True

    def satisfies(self, role_groups: tuple[tuple[str, ...], ...]) -> bool:
        """Holds at least one role of every non-empty group."""
        return all(not group or self.roles & set(group) for group in role_groups)


@dataclass(frozen=True)
class TokenInfo:
    """A token as stored (never the secret)."""

    id: str
    approver: str
    created_at: float
    expires_at: float | None
    revoked_at: float | None
    last_used_at: float | None


def sync_approvers(store: SqliteStore, policy: Policy, audit: AuditLog, now: float) -> int:
    """Make the store's approvers those of ``policy``; returns how many are active."""
    wanted = {name: sorted(spec.roles) for name, spec in policy.spec.approvers.items()}
    with write_tx(store) as conn:
        current = {
            r[0]: (json.loads(r[1]), bool(r[2]))
            for r in conn.execute("SELECT name, roles, active FROM approvers")
        }
        if current == {n: (roles, True) for n, roles in wanted.items()}:
            return len(wanted)
        conn.execute("UPDATE approvers SET active = 0, updated_at = ?", (now,))
        conn.executemany(
            "INSERT INTO approvers (name, roles, active, policy_digest, updated_at) "
            "VALUES (?, ?, 1, ?, ?) ON CONFLICT(name) DO UPDATE SET roles = excluded.roles, "
            "active = 1, policy_digest = excluded.policy_digest, updated_at = excluded.updated_at",
            [(n, json.dumps(r), policy.digest, now) for n, r in wanted.items()],
        )
    audit.append(
        ApprovalEvent(
            request_id="",
            action="approvers_synced",
            tool="",
            call_id="",
            state="",
            details={"policy": policy.name, "digest": policy.digest, "approvers": wanted},
        )
    )
    return len(wanted)


def load_approver(conn: sqlite3.Connection, name: str) -> Approver | None:
    row = conn.execute("SELECT name, roles, active FROM approvers WHERE name = ?", (name,))
    found = row.fetchone()
    return Approver(found[0], frozenset(json.loads(found[1])), bool(found[2])) if found else None


def list_approvers(store: SqliteStore) -> list[Approver]:
    with store.read() as conn:
        rows = conn.execute("SELECT name, roles, active FROM approvers ORDER BY name").fetchall()
    return [Approver(r[0], frozenset(json.loads(r[1])), bool(r[2])) for r in rows]


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(
    store: SqliteStore,
    audit: AuditLog,
    approver: str,
    now: float,
    expires_s: float | None = None,
) -> tuple[str, str]:
    """A new token for an active approver: (token id, the token, shown once)."""
    token_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    with write_tx(store) as conn:
        found = load_approver(conn, approver)
        if found is None or not found.active:
            raise ConfigError(
                f"no active approver {approver!r}: declare it under 'approvers:' in the policy "
                "and run `ringfence approvals approvers sync`"
            )
        conn.execute(
            "INSERT INTO approver_tokens (id, approver, hash, created_at, expires_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (token_id, approver, _digest(secret), now, now + expires_s if expires_s else None),
        )
    audit.append(
        ApprovalEvent(
            request_id="",
            action="token_created",
            tool="",
            call_id="",
            state="",
            actor=approver,
            details={"token_id": token_id},
        )
    )
    return token_id, f"{TOKEN_PREFIX}{token_id}_{secret}"


def verify_token(store: SqliteStore, token: str, now: float) -> Approver | None:
    """The active approver a valid token belongs to, else None (constant-time compare)."""
    token_id, _, secret = token.removeprefix(TOKEN_PREFIX).partition("_")
    if not token.startswith(TOKEN_PREFIX) or not secret:
        hmac.compare_digest(_DUMMY_HASH, _digest(token))
        return None
    try:
        with store.read() as conn:
            row = conn.execute(
                "SELECT approver, hash, expires_at, revoked_at FROM approver_tokens WHERE id = ?",
                (token_id,),
            ).fetchone()
            stored = row[1] if row else _DUMMY_HASH
            if not hmac.compare_digest(stored, _digest(secret)) or row is None:
                return None
            if row[3] is not None or (row[2] is not None and row[2] <= now):
                return None
            approver = load_approver(conn, row[0])
            conn.execute(
                "UPDATE approver_tokens SET last_used_at = ? WHERE id = ?", (now, token_id)
            )
    except StoreError:
        return None  # an unreadable store never authenticates anyone
    return approver if approver is not None and approver.active else None


def revoke_token(store: SqliteStore, audit: AuditLog, token_id: str, now: float) -> bool:
    with write_tx(store) as conn:
        cur = conn.execute(
            "UPDATE approver_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
            (now, token_id),
        )
        changed = cur.rowcount == 1
    if changed:
        audit.append(
            ApprovalEvent(
                request_id="",
                action="token_revoked",
                tool="",
                call_id="",
                state="",
                details={"token_id": token_id},
            )
        )
    return changed


def list_tokens(store: SqliteStore) -> list[TokenInfo]:
    with store.read() as conn:
        rows = conn.execute(
            "SELECT id, approver, created_at, expires_at, revoked_at, last_used_at "
            "FROM approver_tokens ORDER BY created_at"
        ).fetchall()
    return [TokenInfo(*r) for r in rows]
