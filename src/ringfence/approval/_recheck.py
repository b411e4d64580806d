"""Re-checking a call with the current policy and caps just before it finally runs (a resumed
approval, a committed staged change): the machine rules still apply after a person said yes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from ringfence.approval._provenance import FrozenOrigins
from ringfence.gateway import ArgsInvalid, Gateway, Session, Tool
from ringfence.policy import CallContext, ToolCall, Verdict


@dataclass(frozen=True)
class Recheck:
    """The re-check's answer: ``verdict`` (decision ``allow``) when the call may run, else the
    ``refusal`` reason and the verdict that refused it (if the policy produced one)."""

    call: ToolCall
    verdict: Verdict
    refusal: str | None = None


def recheck(
    gateway: Gateway,
    session: Session,
    tool: Tool,
    call: ToolCall,
    provenance: Mapping[str, Any],
    cleared: frozenset[str],
) -> Recheck:
    """Validate the arguments and evaluate the policy again, with the argument provenance a
    person saw. ``approve`` is accepted only for rules a person already cleared."""
    try:
        call = replace(call, args=tool.check_args(call.args))
    except ArgsInvalid as exc:
        return _refuse(call, f"invalid arguments: {exc}")
    ctx = CallContext(
        session.principal,
        session.id,
        FrozenOrigins(provenance),
        gateway.resolver,
        gateway.store,
        gateway.clock(),
    )
    try:
        verdict = gateway.policy.evaluate(call, ctx)
    except Exception as exc:  # a re-check that fails never allows
        return _refuse(call, f"policy re-check failed: {exc!r}")
    if verdict.decision == "allow":
        return Recheck(call, verdict)
    if verdict.decision == "approve" and set(verdict.rules) <= cleared:
        return Recheck(call, verdict)
    why = "; ".join(verdict.reasons) or verdict.decision
    return Recheck(call, verdict, f"the policy now says {verdict.decision}: {why}")


def _refuse(call: ToolCall, reason: str) -> Recheck:
    verdict = Verdict("error", (reason,), ("recheck",), errors=(reason,))
    return Recheck(call, verdict, reason)
