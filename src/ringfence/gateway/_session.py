"""A session: one conversation of one principal with an agent, and the call flow.

propose:  validate args -> record the proposal with argument provenance -> policy decision
          -> reserve caps atomically (allow) -> record the decision (durable)
execute:  run the tool (allow) or ask for approval (approve) -> record the result, which becomes
          untrusted content the next calls are checked against
"""

from __future__ import annotations

import itertools
import json
import math
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

from ringfence.audit import (
    CallProposedEvent,
    ContentEvent,
    DecisionEvent,
    ErrorEvent,
    ExecutionEvent,
    canonical_json,
)
from ringfence.exceptions import CallRefused, ConfigError
from ringfence.gateway._answers import TracedAnswer, answer_event, trace
from ringfence.gateway._messages import approval_message, invalid_args_message, refusal_message
from ringfence.gateway._tool import ArgsInvalid, Tool
from ringfence.guards import GuardResult
from ringfence.guards._flow import ContentScreen, screen_for
from ringfence.policy import CallContext, CapCharge, Decision, Principal, ToolCall, Verdict
from ringfence.provenance import ContentItem, Label, Span, ValueOriginIndex, summarize

if TYPE_CHECKING:
    from ringfence.gateway._gateway import Gateway

UNKNOWN_TOOL_RULE = "unknown-tool"
SCHEMA_RULE = "schema"


@dataclass(frozen=True)
class Proposal:
    """A decided call, not yet executed. ``reservation`` holds its cap usage (allow only);
    ``approval`` is set on a call a person approved (its verdict's rules are the ones cleared)."""

    call: ToolCall
    verdict: Verdict
    tool: Tool | None
    reservation: str | None = None
    invalid: str | None = None
    approval: ApprovalOutcome | None = None


ApprovalStatus = Literal["approved", "denied", "pending", "expired", "cancelled", "error"]
"""``error``: the approval step itself failed (the call is not executed)."""


@dataclass(frozen=True)
class ApprovalOutcome:
    """What an approval hook says: approved (with the approved arguments), denied, pending."""

    status: ApprovalStatus
    request_id: str | None = None
    reason: str = ""
    args: Mapping[str, Any] | None = None


@runtime_checkable
class ApprovalHook(Protocol):
    """Called for every ``approve`` decision. A blocking hook may wait for a person; a queue
    returns ``pending`` with a request id the application resumes later."""

    def submit(self, session: Session, proposal: Proposal) -> ApprovalOutcome: ...


@runtime_checkable
class StagingHook(Protocol):
    """Called instead of executing an allowed call to a tool the policy declares ``stage``:
    records the intended effect and returns what the model is told."""

    def stage(self, session: Session, proposal: Proposal) -> CallResult: ...


@runtime_checkable
class OutputRecorder(Protocol):
    """How a tool's result becomes content the next calls are checked against. The default (no
    recorder) adds one item, structured results indexed per field with the policy's field trust;
    a recorder may split a result into several items (e.g. one per untrusted field, so a guard's
    spans taint only part of one field) and returns the item that stands for the whole result."""

    def record(self, session: Session, tool: str, output: Any, text: str) -> ContentItem: ...


@dataclass(frozen=True)
class CallResult:
    """What happened to one proposed call. ``message`` is what the model should see."""

    call_id: str
    tool: str
    args: Mapping[str, Any]
    decision: str
    verdict: Verdict
    executed: bool
    message: str
    output: Any = None
    error: str | None = None
    approval: ApprovalOutcome | None = None
    content_id: str | None = None
    delegated: Proposal | None = None
    """Set when an approved call was handed to the caller to execute (the gateway has no
    function for it: the proxy's client app, an MCP server): the allowed proposal, with the
    approved arguments and its caps reserved; report the outcome with ``complete(delegated)``."""

    @property
    def ok(self) -> bool:
        return self.executed and self.error is None


@dataclass
class Session:
    """One principal's conversation: its content (the value-origin index) and its calls."""

    gateway: Gateway
    principal: Principal
    id: str
    agent: str | None = None
    index: ValueOriginIndex = field(default_factory=ValueOriginIndex)
    _counter: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    guards: ContentScreen | None = field(default=None, repr=False)
    """Guard state (reports per content item); set from the gateway's pipeline."""
    recorder: OutputRecorder | None = field(default=None, repr=False)
    """How tool results become content (default: one item per result; see OutputRecorder)."""

    def __post_init__(self) -> None:
        if self.guards is None:
            self.guards = screen_for(self.gateway)

    # --- content ---------------------------------------------------------------------------

    def add_content(
        self,
        text: str,
        *,
        source: str = "user",
        trusted: bool | None = None,
        fields: Mapping[str, str] | None = None,
        field_trust: Mapping[str, bool] | None = None,
        item_id: str | None = None,
    ) -> ContentItem:
        """Record content the model sees. Trust defaults to the policy's ``sources``. With guards,
        untrusted content is checked (``untrusted`` pipeline), the user's too (``input``), and
        flagged content is tainted before it is indexed."""
        label = Label(source, self.gateway.policy.trust_of(source) if trusted is None else trusted)
        item = ContentItem(
            id=item_id or f"c{next(self._counter)}",
            label=label,
            text=text,
            fields=dict(fields) if fields else None,
            field_trust=dict(field_trust or {}),
        )
        self._audit(
            ContentEvent(item_id=item.id, source=source, trusted=label.trusted, text=text),
            durable=False,
        )
        if self.guards is not None:
            item = self.guards.screen(item, self._audit)
        self.index.add(item)
        return item

    def check_input(self, text: str) -> GuardResult:
        """Run the ``input`` guards on a user's message before the model sees it (audited)."""
        return self._screen().check(text, "input", self._audit)

    def check_output(self, text: str) -> GuardResult:
        """Run the ``output`` guards on the model's answer before the user sees it (audited)."""
        return self._screen().check(text, "output", self._audit)

    async def acheck_input(self, text: str) -> GuardResult:
        return await self._screen().acheck(text, "input", self._audit)

    async def acheck_output(self, text: str) -> GuardResult:
        return await self._screen().acheck(text, "output", self._audit)

    def trace_answer(self, text: str) -> TracedAnswer:
        """Trace the model's answer to the content it came from and return what the person
        should see, as the policy's ``answers`` section says (audited; untouched without it)."""
        answer = trace(text, self.index, self.gateway.policy.spec.answers)
        if self.gateway.policy.spec.answers is not None:
            self._audit(answer_event(answer), durable=answer.changed)
        return answer

    def _screen(self) -> ContentScreen:
        if self.guards is None:
            raise ConfigError("this gateway has no guards: declare 'guards:' in the policy or "
                              "pass Gateway(..., guards=build_pipeline(policy))")  # fmt: skip
        return self.guards

    def taint(self, item_id: str, *, spans: tuple[Span, ...] = (), reason: str = "") -> ContentItem:
        """Mark an item (or only ``spans`` of it) as flagged, e.g. by an injection detector."""
        item = self.index.get(item_id)
        if item is None:
            raise ConfigError(f"no content item {item_id!r} in session {self.id!r}")
        reasons = (*item.taint_reasons, reason) if reason else item.taint_reasons
        if spans:
            item = replace(item, taint_spans=(*item.taint_spans, *spans), taint_reasons=reasons)
        else:
            item = replace(item, tainted=True, taint_reasons=reasons)
        self.index.replace(item)
        return item

    # --- the call flow ---------------------------------------------------------------------

    def propose(
        self, tool: str, args: Mapping[str, Any], *, call_id: str | None = None
    ) -> Proposal:
        """Validate and decide a proposed call; allowed calls hold a cap reservation."""
        gw = self.gateway
        cid = call_id or uuid.uuid4().hex[:16]
        wrapped = gw.tools.get(tool)
        call, invalid = ToolCall(tool, dict(args), cid), None
        if wrapped is not None:
            try:
                call = ToolCall(tool, wrapped.check_args(args), cid)
            except ArgsInvalid as exc:
                invalid = str(exc)
        self._audit(
            CallProposedEvent(
                call_id=cid, tool=tool, args=dict(call.args), origins=self._origins(call)
            ),
            durable=False,
        )
        verdict = self._decide(call, wrapped, invalid)
        if self.guards is not None:
            verdict = self.guards.escalate(call, verdict, self.index)
        reservation = None
        if verdict.decision == "allow" and verdict.charges:
            verdict, reservation = self._reserve(verdict)
        self._audit(
            DecisionEvent(
                call_id=cid,
                tool=tool,
                decision=verdict.decision,
                reasons=list(verdict.reasons),
                rules=list(verdict.rules),
                errors=list(verdict.errors),
                policy=gw.policy.name,
                policy_digest=gw.policy.digest,
            ),
            durable=verdict.decision != "allow" or gw.durable_allow,
        )
        return Proposal(call, verdict, wrapped, reservation, invalid)

    def _origins(self, call: ToolCall) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for arg, value in call.args.items():
            leaves = self.index.lookup(value, arg)
            out[arg] = {
                "status": summarize(leaves),
                "items": sorted({o.item_id for leaf in leaves for o in leaf.origins}),
            }
        return out

    def _decide(self, call: ToolCall, wrapped: Tool | None, invalid: str | None) -> Verdict:
        gw = self.gateway
        if wrapped is None and gw.require_registered:
            return Verdict("deny", (f"no tool {call.tool!r} is registered",), (UNKNOWN_TOOL_RULE,),
                           categories=("undeclared",))  # fmt: skip
        if invalid is not None:
            return Verdict("deny", (f"invalid arguments: {invalid}",), (SCHEMA_RULE,),
                           categories=("argument",))  # fmt: skip
        ctx = CallContext(self.principal, self.id, self.index, gw.resolver, gw.store, gw.clock())
        try:
            return gw.policy.evaluate(call, ctx)
        except Exception as exc:  # the engine itself failed: fail closed, log it
            self._audit(ErrorEvent(where="policy", message=repr(exc), call_id=call.call_id))
            return Verdict("error", ("policy evaluation failed",), ("engine",), errors=(repr(exc),))

    def _reserve(self, verdict: Verdict) -> tuple[Verdict, str | None]:
        try:
            got = self.gateway.store.try_charge(verdict.charges, self.gateway.clock())
        except Exception as exc:
            return replace(verdict, decision="error", errors=(f"cap ledger: {exc!r}",)), None
        if isinstance(got, CapCharge):
            reason = f"cap {got.cap_id!r} would be exceeded (checked atomically)"
            decision: Decision = "deny" if got.on_exceed == "deny" else "approve"
            return replace(verdict, decision=decision, reasons=(reason,), rules=(got.cap_id,),
                           categories=("cap",)), None  # fmt: skip
        return verdict, got

    def execute(self, proposal: Proposal) -> CallResult:
        """Run an allowed call (or ask for approval); refused calls get the model message."""
        verdict, call = proposal.verdict, proposal.call
        if verdict.decision == "approve" and self.gateway.approvals is not None:
            return self._approval(proposal)
        if verdict.decision != "allow":
            return self._refused(proposal)
        if not self.gateway.dry_run and self._stages(call.tool):
            return self._stage(proposal)
        fn = proposal.tool.fn if proposal.tool is not None else None
        if fn is None and proposal.approval is not None and not self.gateway.dry_run:
            return self._delegate(proposal)
        if self.gateway.dry_run or fn is None:
            return self._finish(proposal, executed=False, output=None, error=None)
        try:
            output = fn(**call.args)
        except Exception as exc:
            return self._finish(
                proposal, executed=True, output=None, error=f"{type(exc).__name__}: {exc}"
            )
        return self._finish(proposal, executed=True, output=output, error=None)

    def _stages(self, tool: str) -> bool:
        compiled = self.gateway.policy.tools.get(tool)
        return compiled is not None and compiled.spec.stage

    def _stage(self, proposal: Proposal) -> CallResult:
        """Record the call as a staged change; its caps are re-checked when it is committed."""
        hook = self.gateway.staging
        try:
            if proposal.reservation is not None:
                self.gateway.store.release(proposal.reservation)
                proposal = replace(proposal, reservation=None)
            if hook is None:
                raise ConfigError(f"tool {proposal.call.tool!r} is staged but no staging is set")
            return hook.stage(self, proposal)
        except Exception as exc:  # staging that fails never executes the call
            self._audit(ErrorEvent(where="staging", message=repr(exc),
                                   call_id=proposal.call.call_id))  # fmt: skip
            failed = replace(proposal.verdict, decision="error", errors=(repr(exc),))
            return self._refused(replace(proposal, verdict=failed))

    def _delegate(self, proposal: Proposal) -> CallResult:
        """An approved call the gateway has no function for: handed to the caller (audited as
        a ``delegated`` execution, not as run); its cap reservation stays with it."""
        call = proposal.call
        message = f"The call to '{call.tool}' was approved and handed to the caller to execute."
        self._audit(ExecutionEvent(call_id=call.call_id or "", tool=call.tool, ok=True,
                                   result=message, delegated=True))  # fmt: skip
        return CallResult(call.call_id or "", call.tool, call.args, "allow", proposal.verdict,
                          executed=False, message=message, delegated=proposal)  # fmt: skip

    def complete(
        self, proposal: Proposal, *, output: Any = None, error: str | None = None
    ) -> CallResult:
        """Record the outcome of an allowed call that was executed elsewhere (proxy, MCP)."""
        if proposal.verdict.decision != "allow":
            raise ConfigError(f"call {proposal.call.call_id} was not allowed; it cannot complete")
        return self._finish(proposal, executed=True, output=output, error=error)

    def call(self, tool: str, args: Mapping[str, Any], *, call_id: str | None = None) -> CallResult:
        """Propose and execute one call: the whole flow."""
        return self.execute(self.propose(tool, args, call_id=call_id))

    def _refused(self, proposal: Proposal, approval: ApprovalOutcome | None = None) -> CallResult:
        call, verdict = proposal.call, proposal.verdict
        if proposal.invalid is not None:
            message = invalid_args_message(call.tool, proposal.invalid)
        elif approval is not None and verdict.decision == "approve":
            message = approval_message(call.tool, approval.status)
        else:
            message = refusal_message(call.tool, verdict)
        return CallResult(call.call_id or "", call.tool, call.args, verdict.decision, verdict,
                          executed=False, message=message, approval=approval)  # fmt: skip

    def _approval(self, proposal: Proposal) -> CallResult:
        hook = self.gateway.approvals
        assert hook is not None
        try:
            outcome = hook.submit(self, proposal)
        except Exception as exc:  # an approval hook that fails never approves
            self._audit(
                ErrorEvent(where="approval", message=repr(exc), call_id=proposal.call.call_id)
            )
            outcome = ApprovalOutcome("error", reason=f"approval failed: {exc!r}")
        if outcome.status != "approved":
            return self._refused(proposal, outcome)
        return self.execute_approved(proposal, outcome)

    def execute_approved(self, proposal: Proposal, outcome: ApprovalOutcome) -> CallResult:
        """Execute a call a person approved, with the approved arguments; caps are reserved now."""
        call = replace(proposal.call, args=dict(outcome.args or proposal.call.args))
        verdict = replace(proposal.verdict, decision="allow")
        reservation = None
        if verdict.charges:
            verdict, reservation = self._reserve(_approved_over_cap(verdict))
            if verdict.decision != "allow":
                return self._refused(replace(proposal, call=call, verdict=verdict), outcome)
            verdict = replace(verdict, charges=proposal.verdict.charges)
        approved = Proposal(call, verdict, proposal.tool, reservation, approval=outcome)
        result = self.execute(approved)
        return replace(result, approval=outcome)

    def _finish(
        self, proposal: Proposal, *, executed: bool, output: Any, error: str | None
    ) -> CallResult:
        call = proposal.call
        if error is not None and proposal.reservation is not None:
            self.gateway.store.release(proposal.reservation)
        if error is not None:
            message = f"The call to '{call.tool}' failed: {error}"
        elif not executed:
            message = f"(dry run) the call to '{call.tool}' was allowed and not executed"
        else:
            message = _as_text(output)
        self._audit(
            ExecutionEvent(call_id=call.call_id or "", tool=call.tool, ok=error is None,
                           result=message[:2000], error=error, dry_run=not executed),
            durable=executed,
        )  # fmt: skip
        content_id = None
        if executed and error is None:  # the result is content the next calls are checked against
            content_id = self._record_output(call.tool, output, message).id
        return CallResult(call.call_id or "", call.tool, call.args, "allow", proposal.verdict,
                          executed=executed, message=message, output=output, error=error,
                          content_id=content_id)  # fmt: skip

    def add_tool_output(self, tool: str, output: Any) -> ContentItem:
        """Record the result of a call executed elsewhere (a proxy's client app, an MCP server)
        as content ``tool:NAME``, labelled exactly like a result the gateway executed."""
        return self._record_output(tool, output, _as_text(output))

    def _record_output(self, tool: str, output: Any, text: str) -> ContentItem:
        if self.recorder is not None:
            return self.recorder.record(self, tool, output, text)
        policy_tool = self.gateway.policy.tools.get(tool)
        source = f"tool:{tool}"
        trusted = (
            policy_tool.spec.output.trusted if policy_tool else self.gateway.policy.trust_of(source)
        )
        field_trust: dict[str, bool] = {}
        if policy_tool is not None:
            field_trust.update((p, True) for p in policy_tool.spec.output.trusted_fields)
            field_trust.update((p, False) for p in policy_tool.spec.output.untrusted_fields)
        fields = flatten(output) if isinstance(output, Mapping | list | tuple) else None
        return self.add_content(
            text, source=source, trusted=trusted, fields=fields, field_trust=field_trust
        )

    # --- adapters --------------------------------------------------------------------------

    def call_openai(self, tool_call: Mapping[str, Any]) -> dict[str, Any]:
        """Run one OpenAI ``tool_calls`` entry; returns the ``role: tool`` message to send back."""
        fn = tool_call.get("function") or {}
        name = str(fn.get("name", ""))
        call_id = str(tool_call.get("id") or uuid.uuid4().hex[:16])
        try:
            args = json.loads(fn.get("arguments") or "{}")
            if not isinstance(args, dict):
                raise ValueError("arguments must be a JSON object")
        except ValueError as exc:
            content = invalid_args_message(name, f"arguments are not a JSON object ({exc})")
            return {"role": "tool", "tool_call_id": call_id, "content": content}
        result = self.call(name, args, call_id=call_id)
        return {"role": "tool", "tool_call_id": call_id, "content": result.message}

    def wrap(self, tool: str) -> Callable[..., Any]:
        """A callable that routes through the gateway; raises :class:`CallRefused` when refused."""

        def guarded(**kwargs: Any) -> Any:
            result = self.call(tool, kwargs)
            if not result.executed or result.error is not None:
                raise CallRefused(result.message, result)
            return result.output

        guarded.__name__ = tool
        return guarded

    def _audit(self, event: Any, *, durable: bool = True) -> None:
        self.gateway.audit.append(
            replace(event, session=self.id, principal=self.principal.id), durable=durable
        )


def _approved_over_cap(verdict: Verdict) -> Verdict:
    """A cap with ``on_exceed: approve`` that asked for this approval may be exceeded: the
    person approved exactly that. Its usage is still recorded; other caps are checked."""
    charges = tuple(
        replace(c, max=math.inf) if c.on_exceed == "approve" and c.cap_id in verdict.rules else c
        for c in verdict.charges
    )
    return replace(verdict, charges=charges)


def _as_text(output: Any) -> str:
    if isinstance(output, str):
        return output
    if hasattr(output, "model_dump"):
        output = output.model_dump(mode="json")
    return canonical_json(output)


def flatten(value: Any, prefix: str = "") -> dict[str, str]:
    """Leaves of a structured value by dotted path: ``{"orders.0.id": "4821", ...}``."""
    out: dict[str, str] = {}
    if isinstance(value, Mapping):
        for key, sub in value.items():
            out.update(flatten(sub, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(value, list | tuple):
        for i, sub in enumerate(value):
            out.update(flatten(sub, f"{prefix}.{i}" if prefix else str(i)))
    elif value is not None:
        out[prefix or "value"] = str(value)
    return out
