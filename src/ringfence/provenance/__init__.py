"""Provenance: content labels and the value-origin index for tool-call arguments."""

from ringfence.provenance._answer import AnswerSpan, render_answer, trace_answer
from ringfence.provenance._index import (
    LeafProvenance,
    MatchKind,
    Origin,
    OriginStatus,
    ValueOriginIndex,
    summarize,
)
from ringfence.provenance._label import ContentItem, Label, SourceKind, Span, Trust, source_matches
from ringfence.provenance._normalize import (
    canonical_email,
    canonical_iban,
    canonical_number,
    canonical_url,
    destinations_in,
    normalize_text,
)

__all__ = [
    "AnswerSpan",
    "ContentItem",
    "Label",
    "LeafProvenance",
    "MatchKind",
    "Origin",
    "OriginStatus",
    "SourceKind",
    "Span",
    "Trust",
    "ValueOriginIndex",
    "canonical_email",
    "canonical_iban",
    "canonical_number",
    "canonical_url",
    "destinations_in",
    "normalize_text",
    "render_answer",
    "source_matches",
    "summarize",
    "trace_answer",
]
