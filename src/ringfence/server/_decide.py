"""Deciding one choice of a model response: output guards on its text, the policy on each of
its tool calls. The non-streaming and the streaming paths both end here, so their verdicts are
the same by construction."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ringfence.audit import DecisionEvent
from ringfence.gateway import SCHEMA_RULE, CallResult, Gateway, Session
from ringfence.gateway._messages import invalid_args_message, refusal_message
from ringfence.policy import ProxySpec, Verdict
from ringfence.server._guarding import Check, ContentChecker

OUTPUT_GUARD_RULE = "output-guard"


@dataclass(frozen=True)
class CallDecision:
    """What happened to one proposed tool call."""

    call_id: str
    tool: str
    decision: str
    rules: tuple[str, ...]
    forwarded: bool
    message: str = ""
    approval_id: str | None = None
    approval_status: str | None = None
    reservation: str | None = field(default=None, repr=False)
    arguments: str | None = None
    """Arguments to forward instead of the proposed ones (a person approved these)."""
    staged: str | None = None
    """The staged change recorded instead of forwarding the call (a ``stage: true`` tool)."""

    def public(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "call_id": self.call_id,
            "tool": self.tool,
            "decision": self.decision,
            "rules": list(self.rules),
            "forwarded": self.forwarded,
        }
        if self.message:
            out["message"] = self.message
        if self.approval_id:
            out["approval"] = {"id": self.approval_id, "status": self.approval_status}
        if self.staged:
            out["staged"] = self.staged
        return out


@dataclass
class ChoiceOutcome:
    """The checked choice: what the client gets and why."""

    content: str | None
    tool_calls: list[dict[str, Any]]
    finish_reason: str | None
    output: Check | None
    decisions: list[CallDecision] = field(default_factory=list)
    blocked: bool = False
    explanation: str = ""
    refusal: str | None = None
    """The model's own refusal text to pass on (rewritten when a guard redacted it)."""

    def public(self) -> dict[str, Any]:
        return {
            "output": self.output.summary() if self.output else None,
            "decisions": [d.public() for d in self.decisions],
            "blocked": self.blocked,
        }


def stages(gateway: Gateway, tool: str) -> bool:
    """Whether the policy declares ``tool`` ``stage: true`` (allowed calls are recorded, not
    executed)."""
    compiled = gateway.policy.tools.get(tool)
    return compiled is not None and compiled.spec.stage


def staged_change(result: CallResult) -> str | None:
    """The id of the staged change ``result`` recorded, if the call was staged."""
    out = result.output
    if result.executed or not isinstance(out, Mapping) or "staged_change" not in out:
        return None
    return str(out["staged_change"])


def check_text(content: str | None, refusal: str | None) -> str:
    """The text output guards see for one choice (content, then the model's own refusal)."""
    parts = [p for p in (content, refusal) if p]
    return "\n".join(parts)


def deny_event(session: Session, call_id: str, tool: str, rule: str, reason: str) -> None:
    session.gateway.audit.append(
        DecisionEvent(
            call_id=call_id,
            tool=tool,
            decision="deny",
            reasons=[reason],
            rules=[rule],
            policy=session.gateway.policy.name,
            policy_digest=session.gateway.policy.digest,
            session=session.id,
            principal=session.principal.id,
        )
    )


def decide_call(session: Session, checker: ContentChecker, call: Mapping[str, Any]) -> CallDecision:
    """Decide one ``tool_calls`` entry: output guards on its arguments, then the policy."""
    fn = call.get("function") if isinstance(call.get("function"), Mapping) else {}
    assert isinstance(fn, Mapping)
    name, call_id = str(fn.get("name") or ""), str(call.get("id") or "")
    raw = fn.get("arguments") or "{}"
    try:
        args = json.loads(raw) if isinstance(raw, str) else raw
        if not isinstance(args, dict) or call.get("type", "function") != "function":
            raise ValueError("arguments must be a JSON object of a function call")
    except ValueError as exc:
        deny_event(session, call_id, name, SCHEMA_RULE, f"unparsable arguments: {exc}")
        return CallDecision(
            call_id,
            name,
            "deny",
            (SCHEMA_RULE,),
            False,
            invalid_args_message(name, "arguments are not a JSON object"),
        )
    guard = checker.check(session, raw if isinstance(raw, str) else json.dumps(raw), "output")
    if guard.blocked:
        deny_event(session, call_id, name, OUTPUT_GUARD_RULE, f"output guards: {guard.verdict}")
        verdict = Verdict(
            "error" if guard.verdict == "error" else "deny",
            ("output guards blocked the arguments",),
            (OUTPUT_GUARD_RULE,),
            categories=("rule",),
        )
        return CallDecision(
            call_id, name, verdict.decision, verdict.rules, False, refusal_message(name, verdict)
        )
    proposal = session.propose(name, args, call_id=call_id or None)
    if proposal.verdict.decision == "allow" and not stages(session.gateway, name):
        return CallDecision(
            proposal.call.call_id or call_id,
            name,
            "allow",
            proposal.verdict.rules,
            True,
            reservation=proposal.reservation,
        )
    # staged, refused, or an approval request (pending, or approved while we waited)
    return _executed(proposal.verdict, session.execute(proposal))


def _executed(proposed: Verdict, result: CallResult) -> CallDecision:
    """The decision to report: the proposal's, unless executing it refused (deny, error)."""
    refused = result.decision in ("deny", "error")
    decision = result.decision if refused else proposed.decision
    rules = result.verdict.rules if refused else proposed.rules
    approval = result.approval
    approval_id = approval.request_id if approval else None
    approval_status = approval.status if approval else None
    if result.delegated is not None:  # approved while we waited: the client executes it
        return CallDecision(
            result.call_id,
            result.tool,
            decision,
            rules,
            True,
            approval_id=approval_id,
            approval_status=approval_status,
            reservation=result.delegated.reservation,
            arguments=json.dumps(dict(result.delegated.call.args)),
        )
    return CallDecision(
        result.call_id,
        result.tool,
        decision,
        rules,
        False,
        result.message,
        approval_id,
        approval_status,
        staged=staged_change(result),
    )


def decide_choice(
    session: Session,
    checker: ContentChecker,
    spec: ProxySpec,
    *,
    content: str | None,
    refusal: str | None,
    tool_calls: Sequence[Mapping[str, Any]],
    finish_reason: str | None,
) -> ChoiceOutcome:
    """Output guards on the choice's text, then a decision for every tool call."""
    text = check_text(content, refusal)
    output = checker.check(session, text, "output") if text else None
    content, refusal, output = _rewritten(session, checker, content, refusal, output)
    decisions = [decide_call(session, checker, call) for call in tool_calls]
    if output is not None and output.blocked:
        return blocked_outcome(session, spec, output, decisions)
    if content and session.gateway.policy.spec.answers is not None:
        content = session.trace_answer(content).text  # answer provenance: cite or withhold
    refused = [d for d in decisions if not d.forwarded and d.staged is None]
    forwarded = [_forward(c, d) for c, d in zip(tool_calls, decisions, strict=True) if d.forwarded]
    if refused and spec.on_denied_tool_call == "replace":
        forwarded = []
        decisions = [_withheld(session, d) for d in decisions]
    explanation = "\n".join(d.message for d in decisions if not d.forwarded and d.message)
    if refused and spec.on_denied_tool_call == "replace":
        explanation += "\nNo action of this turn was taken."
    new_content = "\n\n".join(p for p in (content, explanation) if p) or content
    reason = finish_reason
    if tool_calls and not forwarded and finish_reason == "tool_calls":
        reason = "stop"
    return ChoiceOutcome(
        new_content,
        forwarded,
        reason,
        output,
        decisions,
        explanation=explanation,
        refusal=refusal,
    )


def blocked_outcome(
    session: Session, spec: ProxySpec, output: Check | None, decisions: list[CallDecision]
) -> ChoiceOutcome:
    """The refusal that replaces a blocked choice; none of its calls is forwarded."""
    withheld = [_withheld(session, d) for d in decisions]
    return ChoiceOutcome(spec.refusal_message, [], "content_filter", output, withheld, blocked=True)


def _rewritten(
    session: Session,
    checker: ContentChecker,
    content: str | None,
    refusal: str | None,
    output: Check | None,
) -> tuple[str | None, str | None, Check | None]:
    """Content and refusal as the output guards rewrote them (redaction). The guards saw both
    joined; when both are present, each is rewritten on its own (a part that blocks blocks)."""
    if output is None or output.text is None or output.blocked:
        return content, refusal, output
    if refusal is None:
        return output.text, refusal, output
    if content is None:
        return content, output.text, output
    parts = [checker.check(session, part, "output") for part in (content, refusal)]
    worst = next((c for c in parts if c.blocked), output)
    return parts[0].text or content, parts[1].text or refusal, worst


def _forward(call: Mapping[str, Any], decision: CallDecision) -> dict[str, Any]:
    out = dict(call)
    if decision.arguments is not None:
        out["function"] = {**dict(call.get("function") or {}), "arguments": decision.arguments}
    return out


def _withheld(session: Session, decision: CallDecision) -> CallDecision:
    """An allowed call that is not forwarded after all: its cap reservation is released."""
    if not decision.forwarded:
        return decision
    if decision.reservation is not None:
        session.gateway.store.release(decision.reservation)
    return CallDecision(
        decision.call_id,
        decision.tool,
        decision.decision,
        decision.rules,
        False,
        f"The call to '{decision.tool}' was allowed but withheld with the rest of its turn.",
    )
