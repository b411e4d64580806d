"""The audit event union: one dataclass per ``kind``; every step of the flow writes one.

Register new kinds with :func:`event_kind` so records can be read back as typed events.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

EventKind = Literal[
    "content",
    "call_proposed",
    "decision",
    "execution",
    "error",
    "guard",
    "approval",
    "staged",
    "incident",
]
"""Every kind of audit event ringfence writes."""

EVENT_TYPES: dict[str, type[AuditEvent]] = {}


_FIELDS: dict[type, tuple[str, ...]] = {}


def _payload_fields(cls: type) -> tuple[str, ...]:
    names = _FIELDS.get(cls)
    if names is None:
        skip = ("session", "principal")
        names = _FIELDS[cls] = tuple(f.name for f in dataclasses.fields(cls) if f.name not in skip)
    return names


def event_kind(cls: type[AuditEvent]) -> type[AuditEvent]:
    """Class decorator: register an event class under its ``kind``."""
    EVENT_TYPES[cls.kind] = cls
    return cls


@dataclass(frozen=True, kw_only=True)
class AuditEvent:
    """Base of all events. ``session`` and ``principal`` are indexed columns of the log."""

    kind: ClassVar[str] = "event"
    session: str | None = None
    principal: str | None = None

    def payload(self) -> dict[str, Any]:
        """The event's fields except the indexed columns (shallow: serialised at once)."""
        return {name: getattr(self, name) for name in _payload_fields(type(self))}

    @classmethod
    def from_payload(
        cls, payload: dict[str, Any], session: str | None, principal: str | None
    ) -> AuditEvent:
        names = {f.name for f in dataclasses.fields(cls)}
        known = {k: v for k, v in payload.items() if k in names}
        return cls(session=session, principal=principal, **known)


@event_kind
@dataclass(frozen=True, kw_only=True)
class ContentEvent(AuditEvent):
    """A content item the model saw (prompt, user turn, tool output, retrieved document)."""

    kind: ClassVar[str] = "content"
    item_id: str
    source: str
    trusted: bool
    text: str
    tainted: bool = False


@event_kind
@dataclass(frozen=True, kw_only=True)
class CallProposedEvent(AuditEvent):
    """The model proposed a tool call; ``origins`` summarises each argument's provenance."""

    kind: ClassVar[str] = "call_proposed"
    call_id: str
    tool: str
    args: dict[str, Any]
    origins: dict[str, Any] = field(default_factory=dict)


@event_kind
@dataclass(frozen=True, kw_only=True)
class DecisionEvent(AuditEvent):
    """The policy decision for a proposed call, with the rules that decided it."""

    kind: ClassVar[str] = "decision"
    call_id: str
    tool: str
    decision: str
    reasons: list[str]
    rules: list[str]
    errors: list[str] = field(default_factory=list)
    policy: str = ""
    policy_digest: str = ""


@event_kind
@dataclass(frozen=True, kw_only=True)
class ExecutionEvent(AuditEvent):
    """A call executed (or failed while executing). ``dry_run``: allowed but not executed;
    ``delegated``: approved and handed to the caller to execute (the proxy's client app, an MCP
    server), not run by ringfence."""

    kind: ClassVar[str] = "execution"
    call_id: str
    tool: str
    ok: bool
    result: str = ""
    error: str | None = None
    dry_run: bool = False
    delegated: bool = False


@event_kind
@dataclass(frozen=True, kw_only=True)
class ErrorEvent(AuditEvent):
    """Something failed; ringfence failed closed."""

    kind: ClassVar[str] = "error"
    where: str
    message: str
    call_id: str | None = None


@event_kind
@dataclass(frozen=True, kw_only=True)
class GenericEvent(AuditEvent):
    """An event of a registered kind with a free-form ``data`` payload (guards, approvals,
    staged changes, incidents use their own classes; this is the fallback reader)."""

    kind: ClassVar[str] = "generic"
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AuditRecord:
    """One stored record: the event's columns plus its position and hashes in the chain."""

    seq: int
    ts_us: int
    kind: str
    session: str | None
    principal: str | None
    payload: dict[str, Any]
    prev_hash: str
    hash: str

    @property
    def ts(self) -> float:
        return self.ts_us / 1_000_000

    def event(self) -> AuditEvent:
        cls = EVENT_TYPES.get(self.kind)
        if cls is None:
            return GenericEvent(session=self.session, principal=self.principal, data=self.payload)
        return cls.from_payload(self.payload, self.session, self.principal)

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "ts": self.ts,
            "kind": self.kind,
            "session": self.session,
            "principal": self.principal,
            "payload": self.payload,
            "hash": self.hash,
        }
