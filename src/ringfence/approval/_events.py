"""Audit events of approvals and staged changes (kinds ``approval`` and ``staged``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from ringfence.audit import AuditEvent, event_kind


@event_kind
@dataclass(frozen=True, kw_only=True)
class ApprovalEvent(AuditEvent):
    """One transition of an approval request: requested, vote, approved, denied, expired,
    cancelled, executed (claimed for execution), result (what the execution did)."""

    kind: ClassVar[str] = "approval"
    request_id: str
    action: str
    tool: str
    call_id: str
    state: str
    actor: str | None = None
    reason: str = ""
    details: dict[str, Any] = field(default_factory=dict)


@event_kind
@dataclass(frozen=True, kw_only=True)
class StagedEvent(AuditEvent):
    """One transition of a staged change: staged, committed, rolled_back, or refused at commit
    (the policy or a cap said no), with the result of the committed call."""

    kind: ClassVar[str] = "staged"
    change_id: str
    action: str
    tool: str
    call_id: str
    state: str
    actor: str | None = None
    reason: str = ""
    details: dict[str, Any] = field(default_factory=dict)
