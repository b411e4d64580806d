"""Answer provenance in a session: trace the model's answer to the content it came from, and
give the person what the policy's ``answers`` section says (see ``ringfence.provenance``)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ringfence.audit import AuditEvent, event_kind
from ringfence.policy import AnswersSpec
from ringfence.provenance import AnswerSpan, ValueOriginIndex, render_answer, trace_answer


@event_kind
@dataclass(frozen=True, kw_only=True)
class AnswerEvent(AuditEvent):
    """An answer traced before a person sees it: the parts found only in untrusted (or flagged)
    content, with their sources, and what was done with them."""

    kind: ClassVar[str] = "answer"
    text_sha256: str
    chars: int
    spans: list[dict[str, Any]] = field(default_factory=list)
    changed: bool = False


@dataclass(frozen=True)
class TracedAnswer:
    """``text`` is what the person sees; ``original`` what the model wrote."""

    text: str
    original: str
    spans: list[AnswerSpan]

    @property
    def changed(self) -> bool:
        return self.text != self.original


def trace(text: str, index: ValueOriginIndex, spec: AnswersSpec | None) -> TracedAnswer:
    """Trace ``text`` against ``index`` and render it as ``spec`` says (``None``: untouched)."""
    if spec is None:
        return TracedAnswer(text, text, [])
    spans = trace_answer(text, index)
    shown = render_answer(text, spans, untrusted=spec.untrusted, tainted=spec.tainted)
    return TracedAnswer(shown, text, spans)


def answer_event(answer: TracedAnswer) -> AnswerEvent:
    spans = [
        {"text": s.text, "kind": s.kind, "status": s.status, "sources": list(s.sources),
         "items": sorted({o.item_id for o in s.origins})}
        for s in answer.spans
    ]  # fmt: skip
    digest = hashlib.sha256(answer.original.encode()).hexdigest()
    return AnswerEvent(text_sha256=digest, chars=len(answer.original), spans=spans,
                       changed=answer.changed)  # fmt: skip
