"""Helpers of the approval queue: compare-and-set transitions, events, outcomes."""

from __future__ import annotations

import sqlite3
from typing import Any

from ringfence.approval._approvers import load_approver
from ringfence.approval._events import ApprovalEvent
from ringfence.approval._records import (
    ApprovalRequest,
    ApprovalState,
    VoteDecision,
    add_transition,
)
from ringfence.exceptions import ApprovalError
from ringfence.gateway import ApprovalOutcome, ApprovalStatus, CallResult
from ringfence.policy import Verdict

_NOT_RUN = {
    "pending": "is still waiting for approval by a person and has not been executed",
    "denied": "was denied by a reviewer and was not executed",
    "expired": "was not approved in time and was not executed",
    "cancelled": "was cancelled and was not executed",
    "executed": "was already executed; it is not executed again",
    "approved": "is approved but has not been executed",
}
_STATUS: dict[str, ApprovalStatus] = {
    "pending": "pending",
    "approved": "approved",
    "denied": "denied",
    "expired": "expired",
    "cancelled": "cancelled",
    "executed": "approved",
}


def vote_refusal(
    conn: sqlite3.Connection, req: ApprovalRequest, name: str, decision: VoteDecision
) -> str | None:
    approver = load_approver(conn, name)
    if approver is None or not approver.active:
        return f"{name!r} is not an active approver"
    if name in (req.principal.id, req.agent):
        return f"{name!r} made this request and cannot decide it"
    if decision == "approve" and not approver.satisfies(req.roles):
        groups = " and ".join("one of " + ", ".join(g) for g in req.roles)
        return f"{name!r} cannot approve {req.tool!r}: it needs {groups}"
    return None


def set_state(
    conn: sqlite3.Connection,
    req: ApprovalRequest,
    to: ApprovalState,
    now: float,
    action: str,
    actor: str | None,
    note: str,
    **columns: Any,
) -> bool:
    """Compare-and-set: ``req.state`` -> ``to`` (and ``columns``) only if still ``req.state``."""
    sets = "".join(f", {name} = ?" for name in columns)
    cur = conn.execute(
        f"UPDATE approval_requests SET state = ?{sets} WHERE id = ? AND state = ?",
        (to, *columns.values(), req.id, req.state),
    )
    if cur.rowcount != 1:
        return False
    add_transition(conn, req.id, now, action, actor, req.state, to, note)
    return True


def expiry_reason(req: ApprovalRequest) -> str:
    """Why ``req`` expires: no decision in time, or an approval not acted on in time."""
    if req.state == "approved":
        return f"approved but not executed within {req.execute_within:g} s"
    return "no decision before the timeout"


def expire_tx(conn: sqlite3.Connection, req: ApprovalRequest, now: float) -> bool:
    """``pending`` or ``approved`` -> ``expired`` (compare-and-set; expiry means deny)."""
    reason = expiry_reason(req)
    if req.state == "approved":  # the approvers' decision and reason stay; the approval lapses
        return set_state(conn, req, "expired", now, "expired", None, reason)
    return set_state(
        conn, req, "expired", now, "expired", None, reason, decided_at=now, reason="expired"
    )


def event_for(
    req: ApprovalRequest,
    action: str,
    actor: str | None,
    reason: str,
    details: dict[str, Any] | None = None,
) -> ApprovalEvent:
    return ApprovalEvent(
        session=req.session,
        principal=req.principal.id,
        request_id=req.id,
        action=action,
        tool=req.tool,
        call_id=req.call_id,
        state=req.state,
        actor=actor,
        reason=reason,
        details=details or {},
    )


def must(req: ApprovalRequest | None, request_id: str) -> ApprovalRequest:
    if req is None:
        raise ApprovalError(f"no approval request {request_id!r}")
    return req


def outcome_of(req: ApprovalRequest) -> ApprovalOutcome:
    reason = "already executed" if req.state == "executed" else req.reason or ""
    args = req.args if req.state == "approved" else None
    return ApprovalOutcome(_STATUS[req.state], req.id, reason, args)


def not_run(req: ApprovalRequest) -> CallResult:
    verdict = Verdict("approve", req.reasons, req.rules)
    return CallResult(
        req.call_id,
        req.tool,
        req.args,
        "approve",
        verdict,
        executed=False,
        message=f"The call to '{req.tool}' {_NOT_RUN[req.state]}.",
        approval=outcome_of(req),
    )


def execution_of(result: CallResult) -> str:
    if isinstance(result.output, dict) and "staged_change" in result.output:
        return "staged"
    if not result.executed:
        return "refused"
    return "ran" if result.error is None else "failed"
