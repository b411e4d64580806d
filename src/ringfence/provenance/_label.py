"""Content items and their provenance labels."""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

Trust = Literal["trusted", "untrusted"]
"""Whether content may steer consequential actions. ``trusted``: written by the system, the
developer, the user (by default) or a tool the policy trusts. ``untrusted``: anything a third party
could have written (web pages, e-mails, documents, most tool outputs)."""

SourceKind = Literal["system", "developer", "user", "assistant", "tool", "retrieved", "other"]

_KINDS: frozenset[str] = frozenset(
    {"system", "developer", "user", "assistant", "tool", "retrieved"},
)


@dataclass(frozen=True)
class Label:
    """Who wrote a piece of content (``source``) and whether it is trusted.

    ``source`` is ``system``, ``developer``, ``user``, ``assistant``, ``tool:NAME``,
    ``retrieved:URI`` or any other ``kind:detail`` string.
    """

    source: str
    trusted: bool

    @property
    def kind(self) -> SourceKind:
        head = self.source.split(":", 1)[0]
        return head if head in _KINDS else "other"  # type: ignore[return-value]

    @property
    def trust(self) -> Trust:
        return "trusted" if self.trusted else "untrusted"


@dataclass(frozen=True)
class Span:
    """A character range of a content item's text, flagged by a guard (``reason``)."""

    start: int
    end: int
    reason: str = ""


@dataclass(frozen=True)
class ContentItem:
    """A piece of text the model sees, with its label.

    ``fields`` optionally gives finer structure: for a structured tool result, each leaf value by
    its dotted path (``transactions.0.recipient``); ``field_trust`` overrides the label's trust per
    field (fnmatch patterns over paths, e.g. ``{"*.subject": False}``). ``tainted`` marks the
    whole item as flagged by a guard (for example an injection detector); ``taint_spans`` marks only
    parts of ``text``.
    """

    id: str
    label: Label
    text: str
    fields: Mapping[str, str] | None = None
    field_trust: Mapping[str, bool] = field(default_factory=dict)
    tainted: bool = False
    taint_spans: tuple[Span, ...] = ()
    taint_reasons: tuple[str, ...] = ()

    def trust_of_field(self, path: str) -> bool:
        """Trust of one field: the last matching ``field_trust`` pattern, else the label's."""
        trusted = self.label.trusted
        for pattern, value in self.field_trust.items():
            if fnmatch.fnmatchcase(path, pattern):
                trusted = value
        return trusted


def source_matches(source: str, pattern: str) -> bool:
    """Whether a content source matches a policy pattern (``user``, ``tool:*``, ``tool:get_*``)."""
    return source == pattern or fnmatch.fnmatchcase(source, pattern)
