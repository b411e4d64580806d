"""How AgentDojo tool results become content: the provenance granularity modes.

Every mode records every result the agent saw, per field of the raw result (so values are
matched against the raw text, not AgentDojo's re-wrapped rendering). The modes differ in what
carries trust and what a guard's finding taints:

- ``item``: the result is one item with the tool's trust (``output.trusted``); field trust is
  ignored, so the guards check all of it; anything they flag taints the whole result.
- ``field``: the pack's ``trusted_fields`` / ``untrusted_fields`` apply (a transaction's
  counterparty is trusted, its subject is not); the guards check the untrusted fields, and a
  flag taints the whole result, trusted fields included.
- ``span``: field trust as in ``field``; the untrusted fields (one per line) form one text item
  that the guards check like a document, and a flag taints only the flagged passage (the
  detector's segment, a few lines). Trusted fields of the same result keep their trust; the rest
  of the untrusted text stays untrusted.
- ``span-trusting``: as ``span``, and untrusted text the detector did not flag is *trusted*.
  Everything then rests on the detector: its misses are the attacker's way in. Reported to show
  that risk, not recommended.
"""

from __future__ import annotations

import fnmatch
import itertools
from dataclasses import replace
from typing import Any, Literal

from ringfence.agentdojo._results import Rendered, is_structured, leaves
from ringfence.gateway import Session
from ringfence.policy import Policy
from ringfence.provenance import ContentItem, Label

Mode = Literal["item", "field", "span", "span-trusting"]
"""Provenance granularity (see the module docstring)."""

MODES: tuple[Mode, ...] = ("item", "field", "span", "span-trusting")


class DojoRecorder:
    """An :class:`~ringfence.gateway.OutputRecorder` for AgentDojo results in one ``mode``."""

    def __init__(self, policy: Policy, mode: Mode) -> None:
        self.policy = policy
        self.mode = mode
        self._ids = itertools.count(1)

    def record(self, session: Session, tool: str, output: Any, text: str) -> ContentItem:
        raw = output.raw if isinstance(output, Rendered) else output
        source = f"tool:{tool}"
        trusted, field_trust = self._trust(tool)
        base = f"r{next(self._ids)}"
        if not is_structured(raw):
            return self._whole(session, text, source, trusted, None, {}, base)
        fields = dict(leaves(raw))
        if self.mode == "item" or not fields:
            return self._whole(session, text, source, trusted, fields or None, field_trust, base)
        return self._split(session, text, source, trusted, fields, field_trust, base)

    def _trust(self, tool: str) -> tuple[bool, dict[str, bool]]:
        compiled = self.policy.tools.get(tool)
        if compiled is None:
            return self.policy.trust_of(f"tool:{tool}"), {}
        out = compiled.spec.output
        if self.mode == "item":
            return out.trusted, {}
        field_trust = {p: True for p in out.trusted_fields}
        field_trust.update((p, False) for p in out.untrusted_fields)
        return out.trusted, field_trust

    def _whole(
        self,
        session: Session,
        text: str,
        source: str,
        trusted: bool,
        fields: dict[str, str] | None,
        field_trust: dict[str, bool],
        item_id: str,
    ) -> ContentItem:
        item = session.add_content(
            text, source=source, trusted=trusted, fields=fields, field_trust=field_trust,
            item_id=item_id,
        )  # fmt: skip
        if item.taint_spans and not item.tainted and self.mode in ("item", "field"):
            item = session.taint(item.id, reason="; ".join(item.taint_reasons))
        if self.mode == "span-trusting" and not trusted and fields is None:
            item = _trust_unflagged(session, item)
        return item

    def _split(
        self,
        session: Session,
        text: str,
        source: str,
        trusted: bool,
        fields: dict[str, str],
        field_trust: dict[str, bool],
        base: str,
    ) -> ContentItem:
        """Trusted fields in one structured item (not checked: no outsider wrote them); the
        untrusted fields, one per line, in one text item that the guards check like any
        document, so a finding taints only its passage (the detector's segment)."""
        trust = {path: _trust_of(path, trusted, field_trust) for path in fields}
        kept = {p: t for p, t in fields.items() if trust[p]}
        outside = [t for p, t in fields.items() if not trust[p] and t.strip()]
        made: list[ContentItem] = []
        if kept:
            made.append(session.add_content(text, source=source, trusted=True, fields=kept,
                                            item_id=base))  # fmt: skip
        if outside or not made:
            item = session.add_content("\n".join(outside), source=source, trusted=False,
                                       item_id=f"{base}/untrusted")  # fmt: skip
            if self.mode == "span-trusting":
                item = _trust_unflagged(session, item)
            made.append(item)
            if self.mode == "field" and (item.tainted or item.taint_spans):
                reason = "; ".join(item.taint_reasons)  # a flag taints the whole result
                made = [session.taint(i.id, reason=reason) for i in made]
        return made[0]


def _trust_of(path: str, trusted: bool, field_trust: dict[str, bool]) -> bool:
    for pattern, value in field_trust.items():
        if fnmatch.fnmatchcase(path, pattern):
            trusted = value
    return trusted


def _trust_unflagged(session: Session, item: ContentItem) -> ContentItem:
    """``span-trusting``: the item's unflagged text becomes trusted (its flagged spans stay
    tainted, a wholly flagged item stays tainted)."""
    if item.tainted:
        return item
    promoted = replace(item, label=Label(item.label.source, True))
    session.index.replace(promoted)
    return promoted
