"""The approval queue: durable requests in the store, decided by people, resumed by the app.

Every change of state is a compare-and-set inside one ``BEGIN IMMEDIATE`` transaction (so two
approvers, or two processes resuming the same request, cannot both win), is recorded in the
request's own trail, and is then appended to the audit log as an ``approval`` event.
"""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ringfence.approval._approvers import sync_approvers
from ringfence.approval._events import ApprovalEvent
from ringfence.approval._provenance import risk_signals, snapshot
from ringfence.approval._recheck import recheck
from ringfence.approval._records import (
    INSERT,
    SELECT,
    ApprovalRequest,
    ApprovalState,
    Transition,
    Vote,
    VoteDecision,
    add_transition,
    load_request,
    load_transitions,
    load_votes,
    request_from_row,
    request_row,
)
from ringfence.approval._transitions import (
    event_for,
    execution_of,
    expire_tx,
    expiry_reason,
    must,
    not_run,
    outcome_of,
    set_state,
    vote_refusal,
)
from ringfence.audit import AuditLog
from ringfence.exceptions import ApprovalError, ConfigError
from ringfence.gateway import (
    ApprovalOutcome,
    CallResult,
    Gateway,
    Proposal,
    Session,
    refusal_message,
)
from ringfence.policy import Policy, ToolCall
from ringfence.store import SqliteStore


@dataclass(frozen=True)
class ApprovalSettings:
    """What the policy asks of one request: timeout, role groups, two-person rule."""

    timeout_s: float
    roles: tuple[tuple[str, ...], ...]
    two_person: bool
    execute_within_s: float | None = None
    """How long an approval stays good (the shortest that applies; None: no limit)."""


def settings_for(policy: Policy, tool: str, rules: Iterable[str]) -> ApprovalSettings:
    """The tool's ``approval`` (or the policy default) combined with per-rule overrides."""
    compiled = policy.tools.get(tool)
    defaults = policy.spec.approval
    base = compiled.spec.approval if compiled and compiled.spec.approval else defaults
    specs = [base, *(defaults.rules[r] for r in rules if r in defaults.rules)]
    return ApprovalSettings(
        timeout_s=min(s.timeout for s in specs),
        roles=tuple(tuple(sorted(s.roles)) for s in specs if s.roles),
        two_person=any(s.two_person for s in specs),
        execute_within_s=min(
            (s.execute_within for s in specs if s.execute_within is not None), default=None
        ),
    )


@dataclass
class _Step:
    request: ApprovalRequest | None
    events: list[ApprovalEvent] = field(default_factory=list)
    error: str | None = None


class ApprovalQueue:
    """Durable approval requests (an :class:`~ringfence.gateway.ApprovalHook`).

    ``submit`` stores a request and returns ``pending`` with its id (or, with ``wait_s``, waits
    that long for a decision first). The application keeps the id and later calls
    :meth:`resume` (or ``gateway.resume(id)``), which executes the call exactly once if, and only
    if, it was approved. ``policy`` (optional) syncs the policy's approvers into the store.
    """

    def __init__(
        self,
        store: SqliteStore | str | Path,
        *,
        policy: Policy | None = None,
        audit: AuditLog | None = None,
        clock: Callable[[], float] = time.time,
        wait_s: float | None = None,
        poll_s: float = 0.2,
    ) -> None:
        self._owns_store = not isinstance(store, SqliteStore)
        self.store = store if isinstance(store, SqliteStore) else SqliteStore(store)
        self.audit = audit or AuditLog(self.store, clock=clock)
        self.clock = clock
        self.wait_s = wait_s
        self.poll_s = poll_s
        if policy is not None and policy.spec.approvers:
            sync_approvers(self.store, policy, self.audit, clock())

    # --- agent side ------------------------------------------------------------------------

    def submit(self, session: Session, proposal: Proposal) -> ApprovalOutcome:
        """Store a request for an ``approve`` decision; ``pending`` with its id."""
        req = self._new_request(session, proposal)
        with session.gateway.audit.transaction() as tx:  # the request and its event, atomically
            tx.conn.execute(INSERT, request_row(req))
            add_transition(
                tx.conn,
                req.id,
                req.created_at,
                "requested",
                req.principal.id,
                None,
                "pending",
                "; ".join(req.reasons),
            )
            tx.append(event_for(req, "requested", req.principal.id, ""))
        if self.wait_s:
            return self._wait_and_claim(req.id, self.wait_s, session.gateway.audit)
        return ApprovalOutcome("pending", req.id, reason="waiting for approval")

    def _new_request(self, session: Session, proposal: Proposal) -> ApprovalRequest:
        gw, call, verdict = session.gateway, proposal.call, proposal.verdict
        if not _same_store(gw.store, self.store):
            raise ConfigError("the approval queue and the gateway must use the same store")
        if verdict.decision != "approve":
            raise ConfigError(f"call {call.call_id} does not need approval ({verdict.decision})")
        now = self.clock()
        settings = settings_for(gw.policy, call.tool, verdict.rules)
        provenance = snapshot(call.args, verdict, session.index)
        return ApprovalRequest(
            id=uuid.uuid4().hex,
            state="pending",
            tool=call.tool,
            args=json.loads(_json(dict(call.args))),
            call_id=call.call_id or uuid.uuid4().hex,
            principal=session.principal,
            session=session.id,
            agent=session.agent,
            rules=verdict.rules,
            reasons=verdict.reasons,
            provenance=provenance,
            risk=risk_signals(verdict, provenance, session.index, gw.store, now, call.tool),
            roles=settings.roles,
            two_person=settings.two_person,
            policy=gw.policy.name,
            policy_digest=gw.policy.digest,
            created_at=now,
            expires_at=now + settings.timeout_s,
            decided_at=None,
            decided_by=(),
            reason=None,
            executed_at=None,
            execution=None,
            result=None,
            execute_within=settings.execute_within_s,
        )

    def wait(self, request_id: str, timeout_s: float) -> ApprovalOutcome:
        """Block until the request is decided (or expires), at most ``timeout_s`` seconds;
        a request still undecided then is returned as ``pending`` (resume it later)."""
        deadline = time.monotonic() + timeout_s
        while True:
            self.expire_due(ids=[request_id])
            req = self.get(request_id)
            left = deadline - time.monotonic()
            if req.state != "pending" or left <= 0:
                return outcome_of(req)
            time.sleep(min(self.poll_s, left))

    def _wait_and_claim(
        self, request_id: str, timeout_s: float, audit: AuditLog
    ) -> ApprovalOutcome:
        outcome = self.wait(request_id, timeout_s)
        if outcome.status != "approved":
            return outcome
        req, claimed = self._claim(request_id, "delegated", audit)
        if not claimed:
            return outcome_of(req)
        return ApprovalOutcome("approved", req.id, req.reason or "", args=req.args)

    def resume(self, gateway: Gateway, request_id: str) -> CallResult:
        """Execute an approved request exactly once, with the approved arguments, after
        re-checking the policy and caps; any other state returns without executing."""
        self.expire_due(ids=[request_id])
        req = self.get(request_id)
        tool = gateway.tools.get(req.tool)
        if req.state == "approved" and tool is None:
            raise ConfigError(f"tool {req.tool!r} is not registered with this gateway")
        if req.state != "approved" or tool is None:
            return not_run(req)
        req, claimed = self._claim(request_id, "running", gateway.audit)
        if not claimed:
            return not_run(req)
        session = gateway.session(req.principal, req.session, agent=req.agent)
        check = recheck(
            gateway,
            session,
            tool,
            ToolCall(req.tool, req.args, req.call_id),
            req.provenance,
            frozenset(req.rules),
        )
        outcome = ApprovalOutcome("approved", req.id, req.reason or "", args=check.call.args)
        if check.refusal is not None:
            self._record_result(gateway.audit, req, "refused", check.refusal)
            return CallResult(
                req.call_id,
                req.tool,
                check.call.args,
                check.verdict.decision,
                check.verdict,
                executed=False,
                approval=outcome,
                message=refusal_message(req.tool, check.verdict),
            )
        try:
            result = session.execute_approved(Proposal(check.call, check.verdict, tool), outcome)
        except Exception as exc:
            self._record_result(gateway.audit, req, "failed", repr(exc))
            raise
        self._record_result(gateway.audit, req, execution_of(result), result.message)
        return result

    def claim(
        self, request_id: str, *, execution: str = "delegated", audit: AuditLog | None = None
    ) -> tuple[ApprovalRequest, bool]:
        """Take an approved request for execution elsewhere, exactly once.

        ``approved`` -> ``executed`` is a compare-and-set in one ``BEGIN IMMEDIATE``
        transaction, recorded with ``execution`` (default ``delegated``: handed to a caller that
        executes the call itself, e.g. the proxy's client app) and an ``executed`` audit event.
        Returns the request as it is afterwards and whether this caller won: of any number of
        concurrent claims (threads or processes) exactly one gets ``True``; a request in any
        other state (pending, denied, expired, cancelled, already executed) gives ``False``.
        Raises :class:`ApprovalError` for an unknown id. Nothing is re-checked here: a caller
        that executes the call itself should use :meth:`resume`. An approval older than its
        ``execute_within`` expires here instead of being claimed.
        """
        self.expire_due(ids=[request_id])
        return self._claim(request_id, execution, audit)

    def _claim(
        self, request_id: str, execution: str, audit: AuditLog | None
    ) -> tuple[ApprovalRequest, bool]:
        """:meth:`claim` for callers that have just run :meth:`expire_due` on the request."""
        now = self.clock()
        with (audit or self.audit).transaction() as tx:
            conn = tx.conn
            req = must(load_request(conn, request_id), request_id)
            won = req.state == "approved" and set_state(
                conn,
                req,
                "executed",
                now,
                "executed",
                None,
                "",
                executed_at=now,
                execution=execution,
            )
            req = must(load_request(conn, request_id), request_id)
            if won:
                tx.append(event_for(req, "executed", None, "", {"execution": execution}))
        return req, won

    def _record_result(
        self, audit: AuditLog, req: ApprovalRequest, execution: str, text: str
    ) -> None:
        with audit.transaction() as tx:
            tx.conn.execute(
                "UPDATE approval_requests SET execution = ?, result = ? WHERE id = ?",
                (execution, text[:2000], req.id),
            )
            tx.append(event_for(req, "result", None, text[:500], {"execution": execution}))

    def cancel(
        self, request_id: str, *, actor: str | None = None, reason: str = ""
    ) -> ApprovalRequest:
        """Withdraw a pending or approved (not yet executed) request."""
        self.expire_due(ids=[request_id])
        now = self.clock()
        with self.audit.transaction() as tx:
            conn = tx.conn
            req = must(load_request(conn, request_id), request_id)
            ok = req.state in ("pending", "approved") and set_state(
                conn,
                req,
                "cancelled",
                now,
                "cancelled",
                actor,
                reason,
                decided_at=now,
                reason=reason,
            )
            after = must(load_request(conn, request_id), request_id)
            if ok:
                tx.append(event_for(after, "cancelled", actor, reason))
        if not ok:
            raise ApprovalError(f"request {request_id} is {req.state}; it cannot be cancelled")
        return after

    # --- operator side ---------------------------------------------------------------------

    def approve(self, request_id: str, approver: str, reason: str = "") -> ApprovalRequest:
        return self.decide(request_id, approver, "approve", reason)

    def deny(self, request_id: str, approver: str, reason: str = "") -> ApprovalRequest:
        return self.decide(request_id, approver, "deny", reason)

    def decide(
        self, request_id: str, approver: str, decision: VoteDecision, reason: str = ""
    ) -> ApprovalRequest:
        """Record ``approver``'s vote. Idempotent (the same vote again changes nothing);
        raises :class:`ApprovalError` when the vote is not allowed or the request is decided."""
        now = self.clock()
        with self.audit.transaction() as tx:
            step = self._decide_tx(tx.conn, request_id, approver, decision, reason, now)
            for event in step.events:
                tx.append(event)
        if step.error is not None or step.request is None:
            raise ApprovalError(step.error or f"no approval request {request_id!r}")
        return step.request

    def _decide_tx(
        self,
        conn: sqlite3.Connection,
        rid: str,
        name: str,
        decision: VoteDecision,
        reason: str,
        now: float,
    ) -> _Step:
        req = load_request(conn, rid)
        if req is None:
            return _Step(None, [], f"no approval request {rid!r}")
        if req.state == "pending" and req.expires_at <= now:
            expire_tx(conn, req, now)
            after = load_request(conn, rid)
            return _Step(
                after,
                [event_for(after or req, "expired", None, "timed out")],
                f"request {rid} expired before the decision (expiry means deny)",
            )
        refusal = vote_refusal(conn, req, name, decision)
        if refusal is not None:
            return _Step(req, [event_for(req, "vote_refused", name, refusal)], refusal)
        votes = load_votes(conn, rid)
        mine = [v for v in votes if v.approver == name]
        if mine:
            same = mine[0].decision == decision
            return _Step(req, [], None if same else f"{name} already voted {mine[0].decision}")
        if req.state != "pending":
            return _Step(req, [], f"request {rid} is already {req.state}")
        return self._vote(conn, req, votes, name, decision, reason, now)

    def _vote(
        self,
        conn: sqlite3.Connection,
        req: ApprovalRequest,
        votes: list[Vote],
        name: str,
        decision: VoteDecision,
        reason: str,
        now: float,
    ) -> _Step:
        conn.execute(
            "INSERT INTO approval_votes (request_id, approver, decision, reason, ts) "
            "VALUES (?, ?, ?, ?, ?)",
            (req.id, name, decision, reason, now),
        )
        approvers = [v.approver for v in votes if v.decision == "approve"] + [name]
        if decision == "deny":
            to: ApprovalState | None = "denied"
            approvers = [name]
        else:
            to = "approved" if len(approvers) >= (2 if req.two_person else 1) else None
        if to is None:
            add_transition(conn, req.id, now, "vote", name, "pending", "pending", reason)
            action = "vote"
        else:
            set_state(
                conn,
                req,
                to,
                now,
                to,
                name,
                reason,
                decided_at=now,
                decided_by=json.dumps(approvers),
                reason=reason,
            )
            action = to
        after = must(load_request(conn, req.id), req.id)
        return _Step(after, [event_for(after, action, name, reason, {"vote": decision})])

    def expire_due(self, *, ids: Iterable[str] | None = None) -> list[str]:
        """Expire pending requests whose timeout has passed, and approved ones not executed
        within their ``execute_within`` (all, or only ``ids``)."""
        now = self.clock()
        sql = (
            "SELECT id FROM approval_requests WHERE ((state = 'pending' AND expires_at <= ?) "
            "OR (state = 'approved' AND execute_within IS NOT NULL "
            "AND decided_at + execute_within <= ?))"
        )
        params: list[Any] = [now, now]
        if ids is not None:
            wanted = list(ids)
            sql += f" AND id IN ({','.join('?' * len(wanted))})"
            params.extend(wanted)
        events: list[ApprovalEvent] = []
        with self.audit.transaction() as tx:
            for (rid,) in tx.conn.execute(sql + " LIMIT 1000", params).fetchall():
                req = must(load_request(tx.conn, rid), rid)
                if expire_tx(tx.conn, req, now):
                    events.append(event_for(req, "expired", None, expiry_reason(req)))
            for event in events:
                tx.append(event)
        return [e.request_id for e in events]

    # --- reading ---------------------------------------------------------------------------

    def get(self, request_id: str) -> ApprovalRequest:
        with self.store.read() as conn:
            return must(load_request(conn, request_id), request_id)

    def list_requests(
        self, *, states: Iterable[str] = (), limit: int = 100, offset: int = 0
    ) -> list[ApprovalRequest]:
        """Requests, newest first (only ``states`` when given)."""
        wanted = list(states)
        where = f" WHERE state IN ({','.join('?' * len(wanted))})" if wanted else ""
        with self.store.read() as conn:
            rows = conn.execute(
                f"{SELECT}{where} ORDER BY created_at DESC LIMIT ? OFFSET ?",
                (*wanted, int(limit), int(offset)),
            ).fetchall()
        return [request_from_row(r) for r in rows]

    def votes(self, request_id: str) -> list[Vote]:
        with self.store.read() as conn:
            return load_votes(conn, request_id)

    def transitions(self, request_id: str) -> list[Transition]:
        with self.store.read() as conn:
            return load_transitions(conn, request_id)

    def close(self) -> None:
        self.audit.close()
        if self._owns_store:
            self.store.close()

    def __enter__(self) -> ApprovalQueue:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _json(value: Any) -> str:
    from ringfence.audit import canonical_json

    return canonical_json(value)


def _same_store(a: SqliteStore, b: SqliteStore) -> bool:
    if a is b:
        return True
    if ":memory:" in (a.path, b.path):
        return False
    return Path(a.path).resolve() == Path(b.path).resolve()
