"""Provenance: content labels and the value-origin index for tool-call arguments."""

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
    "source_matches",
    "summarize",
]
