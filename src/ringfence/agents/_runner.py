"""Tool runners: how an agent's proposed tool calls are carried out.

:class:`DirectRunner` calls the tools as an unprotected agent framework would (no policy).
:class:`GatewayRunner` sends every call through a :class:`ringfence.gateway.Session`, so the
policy decides, caps are charged, the audit log records it and tool outputs become content
with provenance. Both return the same :class:`ToolCallRecord`, so a run with and without a
policy is scored the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from ringfence.audit import canonical_json
from ringfence.gateway import ArgsInvalid, CallResult, Session, Tool
from ringfence.provenance import Span

CallDecision = Literal["allow", "deny", "approve", "error", "unguarded"]
"""The gateway's decision for a call, or ``unguarded`` when no policy was in the loop."""


@dataclass(frozen=True)
class ToolCallRecord:
    """One proposed tool call and what happened to it."""

    call_id: str
    tool: str
    args: Mapping[str, Any]
    decision: CallDecision
    executed: bool
    ok: bool
    message: str
    """What the model was shown (the tool result, or why the call did not run)."""
    rules: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()
    output: Any = None
    error: str | None = None
    content_id: str | None = None
    turn: int = 0

    @classmethod
    def of(cls, result: CallResult, tool: str) -> ToolCallRecord:
        """The record of one call that went through the gateway."""
        decision: CallDecision = "allow" if result.executed else result.verdict.decision
        return cls(
            call_id=result.call_id,
            tool=tool,
            args=dict(result.args),
            decision=decision,
            executed=result.executed,
            ok=result.ok,
            message=result.message,
            rules=tuple(result.verdict.rules),
            reasons=tuple(result.verdict.reasons),
            output=result.output,
            error=result.error,
            content_id=result.content_id,
        )

    @property
    def blocked(self) -> bool:
        """The deterministic layer stopped it (deny, approval needed, or a failed check)."""
        return self.decision in ("deny", "approve", "error")

    def to_dict(self) -> dict[str, Any]:
        return {
            "call_id": self.call_id,
            "tool": self.tool,
            "args": dict(self.args),
            "decision": self.decision,
            "executed": self.executed,
            "ok": self.ok,
            "rules": list(self.rules),
            "reasons": list(self.reasons),
            "error": self.error,
            "turn": self.turn,
        }


@runtime_checkable
class ToolRunner(Protocol):
    """Carries out tool calls for an agent and records the content the model sees."""

    def schemas(self) -> list[dict[str, Any]]:
        """OpenAI function schemas of the tools the model is offered."""
        ...

    def add_content(self, text: str, source: str) -> str | None:
        """Record content the model sees (system prompt, user turn); returns its item id."""
        ...

    def taint(self, item_id: str, spans: tuple[Span, ...], reason: str) -> None:
        """Mark content (or spans of it) as flagged by a guard."""
        ...

    def call(self, tool: str, args: Mapping[str, Any], call_id: str) -> ToolCallRecord: ...


@dataclass
class DirectRunner:
    """Runs tools directly, with only the tools' own argument validation: no policy."""

    tools: Sequence[Tool]
    _by_name: dict[str, Tool] = field(init=False)

    def __post_init__(self) -> None:
        self._by_name = {t.name: t for t in self.tools}

    def schemas(self) -> list[dict[str, Any]]:
        return [t.openai_schema() for t in self.tools]

    def add_content(self, text: str, source: str) -> str | None:
        return None

    def taint(self, item_id: str, spans: tuple[Span, ...], reason: str) -> None:
        return None

    def call(self, tool: str, args: Mapping[str, Any], call_id: str) -> ToolCallRecord:
        wrapped = self._by_name.get(tool)
        if wrapped is None or wrapped.fn is None:
            msg = f"The call to '{tool}' failed: no such tool"
            return _record(call_id, tool, args, executed=False, ok=False, message=msg, error=msg)
        try:
            checked = wrapped.check_args(args)
        except ArgsInvalid as exc:
            msg = f"The call to '{tool}' has invalid arguments: {exc}"
            return _record(call_id, tool, args, executed=False, ok=False, message=msg, error=msg)
        try:
            output = wrapped.fn(**checked)
        except Exception as exc:
            err = f"{type(exc).__name__}: {exc}"
            msg = f"The call to '{tool}' failed: {err}"
            return _record(call_id, tool, checked, executed=True, ok=False, message=msg, error=err)
        text = output if isinstance(output, str) else canonical_json(output)
        return _record(call_id, tool, checked, executed=True, ok=True, message=text, output=output)


def _record(
    call_id: str,
    tool: str,
    args: Mapping[str, Any],
    *,
    executed: bool,
    ok: bool,
    message: str,
    output: Any = None,
    error: str | None = None,
) -> ToolCallRecord:
    return ToolCallRecord(call_id, tool, dict(args), "unguarded", executed, ok, message,
                          output=output, error=error)  # fmt: skip


@dataclass
class GatewayRunner:
    """Runs every call through a gateway session: decide, charge caps, audit, execute."""

    session: Session

    def schemas(self) -> list[dict[str, Any]]:
        return self.session.gateway.openai_tools()

    def add_content(self, text: str, source: str) -> str | None:
        return self.session.add_content(text, source=source).id

    def taint(self, item_id: str, spans: tuple[Span, ...], reason: str) -> None:
        self.session.taint(item_id, spans=spans, reason=reason)

    def call(self, tool: str, args: Mapping[str, Any], call_id: str) -> ToolCallRecord:
        return ToolCallRecord.of(self.session.call(tool, args, call_id=call_id), tool)
