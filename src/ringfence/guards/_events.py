"""The audit event every guard run writes (kind ``guard``)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ringfence.audit import AuditEvent, event_kind
from ringfence.guards._types import GuardReport


@event_kind
@dataclass(frozen=True, kw_only=True)
class GuardEvent(AuditEvent):
    """One pipeline run: direction, verdict, findings (with the action taken for each), errors
    and latency. ``item_id`` names the content item checked, if any; the text itself is in that
    item's ``content`` event, or (for ``check_input`` / ``check_output``) only its digest here."""

    kind: ClassVar[str] = "guard"
    direction: str
    verdict: str
    findings: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    latency_ms: float = 0.0
    item_id: str | None = None
    source: str | None = None
    text_sha256: str | None = None
    chars: int = 0
    cached: bool = False
    """The verdict was reused from an identical earlier text (pure guards, verdict cache)."""

    @classmethod
    def of(
        cls,
        report: GuardReport,
        text: str,
        *,
        item_id: str | None = None,
        source: str | None = None,
    ) -> GuardEvent:
        result = report.result
        findings = [
            {
                "guard": f.guard,
                "kind": f.kind,
                "score": round(f.score, 6),
                "span": list(f.span) if f.span else None,
                "message": f.message,
                "action": action,
            }
            for f, action in zip(result.findings, report.actions, strict=True)
        ]
        return cls(
            direction=report.direction,
            verdict=result.verdict,
            findings=findings,
            errors=list(result.errors),
            latency_ms=round(result.latency_ms, 3),
            item_id=item_id,
            source=source,
            text_sha256=hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest(),
            chars=len(text),
            cached=report.cached,
        )
