"""Approval requests, votes and transitions as stored, and how they are read back."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

from ringfence.audit import canonical_json
from ringfence.exceptions import StoreError
from ringfence.policy import Principal
from ringfence.store import SqliteStore

ApprovalState = Literal["pending", "approved", "denied", "expired", "cancelled", "executed"]
"""Where a request stands.

- ``pending``: waiting for approvers (until ``expires_at``);
- ``approved``: approved by enough approvers, not yet executed (until ``decided_at +
  execute_within``: an approval not acted on in time expires);
- ``denied`` / ``expired`` / ``cancelled``: final, never executed (expiry means deny);
- ``executed``: approved and claimed for execution, exactly once (``execution`` says what
  happened: ``ran``, ``failed``, ``refused`` at the re-check, ``delegated`` to a blocking caller,
  or ``running`` while it runs; a request left ``running`` by a crash is never run again).
"""

FINAL_STATES: frozenset[str] = frozenset({"denied", "expired", "cancelled", "executed"})

VoteDecision = Literal["approve", "deny"]


@contextmanager
def write_tx(store: SqliteStore) -> Iterator[sqlite3.Connection]:
    """``store.write()`` with sqlite3 errors from the body mapped to :class:`StoreError`."""
    try:
        with store.write() as conn:
            yield conn
    except sqlite3.Error as exc:
        raise StoreError(f"store {store.path}: {exc}") from exc


def principal_json(principal: Principal) -> str:
    return canonical_json(
        {
            "id": principal.id,
            "kind": principal.kind,
            "tenant": principal.tenant,
            "roles": sorted(principal.roles),
            "attrs": dict(principal.attrs),
        }
    )


def principal_from_json(text: str) -> Principal:
    data = json.loads(text)
    return Principal(
        id=data["id"],
        kind=data["kind"],
        tenant=data.get("tenant"),
        roles=frozenset(data.get("roles", [])),
        attrs=data.get("attrs", {}),
    )


@dataclass(frozen=True)
class Vote:
    """One approver's decision on a request."""

    approver: str
    decision: VoteDecision
    reason: str
    ts: float


@dataclass(frozen=True)
class Transition:
    """One recorded change of a request (the request's own trail; each is also audited)."""

    id: int
    ts: float
    action: str
    actor: str | None
    from_state: str | None
    to_state: str
    reason: str


@dataclass(frozen=True)
class ApprovalRequest:
    """A durable request for a person to approve one proposed tool call."""

    id: str
    state: ApprovalState
    tool: str
    args: dict[str, Any]
    call_id: str
    principal: Principal
    session: str
    agent: str | None
    rules: tuple[str, ...]
    reasons: tuple[str, ...]
    provenance: dict[str, Any]
    risk: dict[str, Any]
    roles: tuple[tuple[str, ...], ...]
    """Role groups: an approver needs one role of every group."""
    two_person: bool
    policy: str
    policy_digest: str
    created_at: float
    expires_at: float
    decided_at: float | None
    decided_by: tuple[str, ...]
    reason: str | None
    executed_at: float | None
    execution: str | None
    result: str | None
    execute_within: float | None = None
    """Seconds an approval stays good after the decision (None: no limit)."""

    @property
    def final(self) -> bool:
        return self.state in FINAL_STATES

    def to_dict(self) -> dict[str, Any]:
        data = {k: getattr(self, k) for k in _COLUMNS if k != "principal_data"}
        data["principal"] = json.loads(principal_json(self.principal))
        data["rules"], data["reasons"] = list(self.rules), list(self.reasons)
        data["roles"] = [list(g) for g in self.roles]
        data["decided_by"] = list(self.decided_by)
        return data


_COLUMNS = (
    "id",
    "state",
    "tool",
    "args",
    "call_id",
    "principal",
    "principal_data",
    "session",
    "agent",
    "rules",
    "reasons",
    "provenance",
    "risk",
    "roles",
    "two_person",
    "policy",
    "policy_digest",
    "created_at",
    "expires_at",
    "decided_at",
    "decided_by",
    "reason",
    "executed_at",
    "execution",
    "result",
    "execute_within",
)
SELECT = f"SELECT {', '.join(_COLUMNS)} FROM approval_requests"
INSERT = (
    f"INSERT INTO approval_requests ({', '.join(_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(_COLUMNS))})"
)


def request_from_row(row: tuple[Any, ...]) -> ApprovalRequest:
    d = dict(zip(_COLUMNS, row, strict=True))
    return ApprovalRequest(
        id=d["id"],
        state=d["state"],
        tool=d["tool"],
        args=json.loads(d["args"]),
        call_id=d["call_id"],
        principal=principal_from_json(d["principal_data"]),
        session=d["session"],
        agent=d["agent"],
        rules=tuple(json.loads(d["rules"])),
        reasons=tuple(json.loads(d["reasons"])),
        provenance=json.loads(d["provenance"]),
        risk=json.loads(d["risk"]),
        roles=tuple(tuple(g) for g in json.loads(d["roles"])),
        two_person=bool(d["two_person"]),
        policy=d["policy"],
        policy_digest=d["policy_digest"],
        created_at=d["created_at"],
        expires_at=d["expires_at"],
        decided_at=d["decided_at"],
        decided_by=tuple(json.loads(d["decided_by"] or "[]")),
        reason=d["reason"],
        executed_at=d["executed_at"],
        execution=d["execution"],
        result=d["result"],
        execute_within=d["execute_within"],
    )


def request_row(req: ApprovalRequest) -> tuple[Any, ...]:
    values = req.to_dict()
    values["principal"] = req.principal.id
    values["principal_data"] = principal_json(req.principal)
    out = []
    for col in _COLUMNS:
        value = values[col]
        if col in ("args", "rules", "reasons", "provenance", "risk", "roles", "decided_by"):
            value = canonical_json(value)
        elif col == "two_person":
            value = int(value)
        out.append(value)
    return tuple(out)


def load_request(conn: sqlite3.Connection, request_id: str) -> ApprovalRequest | None:
    row = conn.execute(f"{SELECT} WHERE id = ?", (request_id,)).fetchone()
    return request_from_row(row) if row else None


def load_votes(conn: sqlite3.Connection, request_id: str) -> list[Vote]:
    rows = conn.execute(
        "SELECT approver, decision, reason, ts FROM approval_votes WHERE request_id = ? "
        "ORDER BY ts",
        (request_id,),
    ).fetchall()
    return [Vote(r[0], r[1], r[2], r[3]) for r in rows]


def load_transitions(conn: sqlite3.Connection, request_id: str) -> list[Transition]:
    rows = conn.execute(
        "SELECT id, ts, action, actor, from_state, to_state, reason FROM approval_transitions "
        "WHERE request_id = ? ORDER BY id",
        (request_id,),
    ).fetchall()
    return [Transition(*r) for r in rows]


def add_transition(
    conn: sqlite3.Connection,
    request_id: str,
    ts: float,
    action: str,
    actor: str | None,
    from_state: str | None,
    to_state: str,
    reason: str = "",
) -> None:
    conn.execute(
        "INSERT INTO approval_transitions (request_id, ts, action, actor, from_state, to_state, "
        "reason) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (request_id, ts, action, actor, from_state, to_state, reason),
    )
