"""Reversible actions: staged changes (commit / roll back) and soft deletes (restore).

A tool declared ``stage: true`` in the policy is not executed when allowed: the gateway hands
the call to :class:`StagingArea`, which records the intended effect (a draft e-mail, a pending
refund) and tells the model it is staged. A person then commits it (the policy and caps are
checked again, then the tool runs once) or rolls it back (nothing happens). Both are audited
as ``staged`` events.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from ringfence.approval._events import StagedEvent
from ringfence.approval._provenance import snapshot
from ringfence.approval._recheck import recheck
from ringfence.approval._records import principal_from_json, principal_json, write_tx
from ringfence.audit import AuditLog, canonical_json
from ringfence.exceptions import ApprovalError, ConfigError
from ringfence.gateway import CallResult, Gateway, Proposal, Session, refusal_message
from ringfence.policy import CapCharge, ToolCall, Verdict
from ringfence.store import SqliteStore

StagedState = Literal["staged", "committed", "rolled_back"]
"""``staged``: recorded, no effect yet; ``committed``: executed once (``outcome`` says how);
``rolled_back``: discarded, never executed."""

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
    "cleared_rules",
    "provenance",
    "request_id",
    "created_at",
    "decided_at",
    "decided_by",
    "reason",
    "outcome",
    "result",
)


@dataclass(frozen=True)
class StagedChange:
    """The recorded intent of a reversible tool call."""

    id: str
    state: StagedState
    tool: str
    args: dict[str, Any]
    call_id: str
    principal: str
    principal_data: str
    session: str
    agent: str | None
    cleared_rules: tuple[str, ...]
    provenance: dict[str, Any]
    request_id: str | None
    created_at: float
    decided_at: float | None = None
    decided_by: str | None = None
    reason: str | None = None
    outcome: str | None = None
    result: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = {k: getattr(self, k) for k in _COLUMNS if k != "principal_data"}
        data["principal_data"] = json.loads(self.principal_data)
        data["cleared_rules"] = list(self.cleared_rules)
        return data


def _from_row(row: tuple[Any, ...]) -> StagedChange:
    d = dict(zip(_COLUMNS, row, strict=True))
    d["args"], d["provenance"] = json.loads(d["args"]), json.loads(d["provenance"])
    d["cleared_rules"] = tuple(json.loads(d["cleared_rules"]))
    return StagedChange(**d)


class StagingArea:
    """Staged changes in the store (a :class:`~ringfence.gateway.StagingHook`)."""

    def __init__(
        self,
        store: SqliteStore | str | Path,
        *,
        audit: AuditLog | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._owns_store = not isinstance(store, SqliteStore)
        self.store = store if isinstance(store, SqliteStore) else SqliteStore(store)
        self.audit = audit or AuditLog(self.store, clock=clock)
        self.clock = clock

    def stage(self, session: Session, proposal: Proposal) -> CallResult:
        """Record an allowed call instead of executing it; the model is told it is staged."""
        call, verdict = proposal.call, proposal.verdict
        approved = proposal.approval
        change = StagedChange(
            id=uuid.uuid4().hex[:16],
            state="staged",
            tool=call.tool,
            args=json.loads(canonical_json(dict(call.args))),
            call_id=call.call_id or uuid.uuid4().hex[:16],
            principal=session.principal.id,
            principal_data=principal_json(session.principal),
            session=session.id,
            agent=session.agent,
            cleared_rules=verdict.rules if approved else (),
            provenance=snapshot(call.args, verdict, session.index),
            request_id=approved.request_id if approved else None,
            created_at=self.clock(),
        )
        with write_tx(self.store) as conn:
            values = change.to_dict() | {"principal_data": change.principal_data}
            row = [values[c] for c in _COLUMNS]
            for i, col in enumerate(_COLUMNS):
                if col in ("args", "provenance", "cleared_rules"):
                    row[i] = canonical_json(row[i])
            conn.execute(
                f"INSERT INTO staged_changes ({', '.join(_COLUMNS)}) "
                f"VALUES ({', '.join('?' * len(_COLUMNS))})",
                row,
            )
        session.gateway.audit.append(_event(change, "staged", session.principal.id, ""))
        message = (
            f"The call to '{call.tool}' was staged as change {change.id}: it has not taken "
            "effect yet. A person will commit or roll it back; tell the user it is pending."
        )
        return CallResult(
            call.call_id or change.call_id,
            call.tool,
            call.args,
            "allow",
            verdict,
            executed=False,
            message=message,
            output={"staged_change": change.id, "state": "staged"},
        )

    def get(self, change_id: str) -> StagedChange:
        with self.store.read() as conn:
            row = conn.execute(
                f"SELECT {', '.join(_COLUMNS)} FROM staged_changes WHERE id = ?", (change_id,)
            ).fetchone()
        if row is None:
            raise ApprovalError(f"no staged change {change_id!r}")
        return _from_row(row)

    def list_changes(self, *, states: tuple[str, ...] = (), limit: int = 100) -> list[StagedChange]:
        where = f" WHERE state IN ({','.join('?' * len(states))})" if states else ""
        with self.store.read() as conn:
            rows = conn.execute(
                f"SELECT {', '.join(_COLUMNS)} FROM staged_changes{where} "
                "ORDER BY created_at DESC LIMIT ?",
                (*states, int(limit)),
            ).fetchall()
        return [_from_row(r) for r in rows]

    def rollback(
        self, change_id: str, *, actor: str | None = None, reason: str = ""
    ) -> StagedChange:
        """Discard a staged change; it can never be committed afterwards."""
        if not self._move(change_id, "rolled_back", actor, reason, "rolled_back", None):
            raise ApprovalError(f"staged change {change_id} is {self.get(change_id).state}")
        change = self.get(change_id)
        self.audit.append(_event(change, "rolled_back", actor, reason))
        return change

    def commit(
        self, gateway: Gateway, change_id: str, *, actor: str | None = None, reason: str = ""
    ) -> CallResult:
        """Re-check the policy and caps, then execute the change exactly once.

        A commit the policy or a cap refuses leaves the change ``staged`` (retry later or roll
        it back) and is audited as ``refused``; two concurrent commits execute it once.
        """
        change = self.get(change_id)
        tool = gateway.tools.get(change.tool)
        if tool is None or tool.fn is None:
            raise ConfigError(f"tool {change.tool!r} is not registered (with a function)")
        if change.state != "staged":
            raise ApprovalError(f"staged change {change_id} is {change.state}")
        session = gateway.session(
            principal_from_json(change.principal_data), change.session, agent=change.agent
        )
        check = recheck(
            gateway,
            session,
            tool,
            ToolCall(change.tool, change.args, change.call_id),
            change.provenance,
            frozenset(change.cleared_rules),
        )
        reservation: str | None = None
        refusal, verdict = check.refusal, check.verdict
        if refusal is None:
            reservation, refusal, verdict = self._reserve(gateway, verdict, change.cleared_rules)
        if refusal is not None:
            gateway.audit.append(_event(change, "refused", actor, refusal))
            return CallResult(
                change.call_id,
                change.tool,
                check.call.args,
                verdict.decision,
                verdict,
                executed=False,
                message=refusal_message(change.tool, verdict),
            )
        if not self._move(change_id, "committed", actor, reason, "committed", "running"):
            if reservation is not None:
                gateway.store.release(reservation)
            raise ApprovalError(f"staged change {change_id} is {self.get(change_id).state}")
        return self._run(gateway, session, change, Proposal(check.call, verdict, tool, reservation))

    def _reserve(
        self, gateway: Gateway, verdict: Verdict, cleared: tuple[str, ...]
    ) -> tuple[str | None, str | None, Verdict]:
        allow = replace(verdict, decision="allow")
        if not verdict.charges:
            return None, None, allow
        charges = tuple(
            replace(c, max=float("inf")) if c.on_exceed == "approve" and c.cap_id in cleared else c
            for c in verdict.charges
        )
        try:
            got = gateway.store.try_charge(charges, gateway.clock())
        except Exception as exc:  # the ledger failing never allows
            failed = replace(verdict, decision="error", errors=(repr(exc),))
            return None, f"cap ledger failed: {exc!r}", failed
        if isinstance(got, CapCharge):
            refused = replace(verdict, decision="deny", rules=(got.cap_id,), categories=("cap",))
            return None, f"cap {got.cap_id!r} would be exceeded", refused
        return got, None, allow

    def _run(
        self, gateway: Gateway, session: Session, change: StagedChange, proposal: Proposal
    ) -> CallResult:
        assert proposal.tool is not None
        assert proposal.tool.fn is not None
        output, error = None, None
        try:
            output = proposal.tool.fn(**proposal.call.args)
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
        result = session.complete(proposal, output=output, error=error)
        outcome = "ran" if error is None else "failed"
        with write_tx(self.store) as conn:
            conn.execute(
                "UPDATE staged_changes SET outcome = ?, result = ? WHERE id = ?",
                (outcome, result.message[:2000], change.id),
            )
        gateway.audit.append(
            _event(replace(change, state="committed"), "committed", None, "", {"outcome": outcome})
        )
        return result

    def _move(
        self,
        change_id: str,
        to: StagedState,
        actor: str | None,
        reason: str,
        action: str,
        outcome: str | None,
    ) -> bool:
        """Compare-and-set ``staged`` -> ``to`` in one transaction."""
        with write_tx(self.store) as conn:
            cur = conn.execute(
                "UPDATE staged_changes SET state = ?, decided_at = ?, decided_by = ?, "
                "reason = ?, outcome = ? WHERE id = ? AND state = 'staged'",
                (to, self.clock(), actor, reason, outcome, change_id),
            )
            return cur.rowcount == 1

    def close(self) -> None:
        self.audit.close()
        if self._owns_store:
            self.store.close()

    def __enter__(self) -> StagingArea:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _event(
    change: StagedChange,
    action: str,
    actor: str | None,
    reason: str,
    details: Mapping[str, Any] | None = None,
) -> StagedEvent:
    return StagedEvent(
        session=change.session,
        principal=change.principal,
        change_id=change.id,
        action=action,
        tool=change.tool,
        call_id=change.call_id,
        state=change.state,
        actor=actor,
        reason=reason,
        details=dict(details or {}),
    )
