"""What an approver sees about each argument: where its values came from, highlighted.

At request time the session's value-origin index is frozen into plain JSON (per argument: its
leaves, each leaf's origins with the source text and the character spans where the value
occurs). At execution or commit time :class:`FrozenOrigins` answers the policy's provenance
questions from that snapshot, so a call resumed in another process is re-checked against
exactly what the approver saw.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from ringfence.policy import CapCharge, CapLedger, Verdict
from ringfence.provenance import (
    ContentItem,
    LeafProvenance,
    Origin,
    ValueOriginIndex,
    canonical_email,
    canonical_number,
    canonical_url,
    summarize,
)

_EXCERPT = 600
"""Characters of source text kept around the first match of a value."""
_NUMBER_TOKEN = re.compile(r"[-+]?[$€£¥]?\s?\d[\d,.'\u00a0\u202f ]*\d|\d")
_EMAIL_TOKEN = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+")
_URL_TOKEN = re.compile(r"(?:https?://|www\.)[^\s<>\"'`)\]}]+", re.IGNORECASE)

Json = dict[str, Any]


def locate(value: object, text: str) -> list[tuple[int, int]]:
    """Character spans of ``text`` where ``value`` occurs (literally, ignoring case and runs of
    whitespace, or as the same number / e-mail address / URL)."""
    needle = str(value).strip()
    if not needle or isinstance(value, bool):
        return []
    words = needle.split()
    pattern = r"\s+".join(re.escape(w) for w in words)
    spans = [m.span() for m in re.finditer(pattern, text, re.IGNORECASE)]
    if spans:
        return spans
    forms: list[tuple[re.Pattern[str], Callable[[str], str | None]]] = [
        (_NUMBER_TOKEN, canonical_number),
        (_EMAIL_TOKEN, canonical_email),
        (_URL_TOKEN, canonical_url),
    ]
    for token, canon in forms:
        wanted = canon(needle)
        if wanted is None:
            continue
        spans = [m.span() for m in token.finditer(text) if canon(m.group(0).strip()) == wanted]
        if spans:
            return spans
    return []


def _segment_text(item: ContentItem, field: str | None) -> str:
    if field is not None and item.fields and field in item.fields:
        return item.fields[field]
    return item.text


def _excerpt(text: str, spans: list[tuple[int, int]]) -> tuple[str, list[tuple[int, int]], int]:
    """A window of ``text`` around the first span; spans shifted into it; the window start."""
    if len(text) <= _EXCERPT:
        return text, spans, 0
    first = spans[0][0] if spans else 0
    start = max(0, min(first - _EXCERPT // 3, len(text) - _EXCERPT))
    end = start + _EXCERPT
    inside = [(s - start, e - start) for s, e in spans if s >= start and e <= end]
    return text[start:end], inside, start


def _origin_json(origin: Origin, value: object, index: ValueOriginIndex) -> Json:
    item = index.get(origin.item_id)
    text = _segment_text(item, origin.field) if item is not None else ""
    excerpt, spans, offset = _excerpt(text, locate(value, text))
    return {
        "item_id": origin.item_id,
        "source": origin.source,
        "trusted": origin.trusted,
        "tainted": origin.tainted,
        "field": origin.field,
        "match": origin.match,
        "text": excerpt,
        "offset": offset,
        "spans": [list(s) for s in spans],
        "taint_reasons": list(item.taint_reasons) if item is not None else [],
    }


def _leaf_json(leaf: LeafProvenance, index: ValueOriginIndex) -> Json:
    return {
        "path": leaf.path,
        "value": leaf.value,
        "trackable": leaf.trackable,
        "status": leaf.status,
        "origins": [_origin_json(o, leaf.value, index) for o in leaf.origins],
    }


def snapshot(args: Mapping[str, Any], verdict: Verdict, index: ValueOriginIndex) -> dict[str, Json]:
    """Per argument: its summary status and leaves with origins, text excerpts and spans."""
    out: dict[str, Json] = {}
    for arg, value in args.items():
        leaves = list(verdict.provenance.get(arg, ())) or index.lookup(value, arg)
        out[arg] = {
            "status": summarize(leaves),
            "leaves": [_leaf_json(leaf, index) for leaf in leaves],
        }
    return out


def risk_signals(
    verdict: Verdict,
    provenance: Mapping[str, Json],
    index: ValueOriginIndex,
    ledger: CapLedger,
    now: float,
    tool: str = "",
) -> Json:
    """Detector findings (tainted content), untrusted content that mentions the action, weak
    argument origins and cap usage."""
    tainted = [
        {
            "item_id": i.id,
            "source": i.label.source,
            "reasons": list(i.taint_reasons),
            "spans": len(i.taint_spans),
            "whole": i.tainted,
        }
        for i in index.items()
        if i.tainted or i.taint_spans
    ]
    weak = {
        a: p["status"] for a, p in provenance.items() if p["status"] not in ("trusted", "empty")
    }
    return {
        "tainted_content": tainted,
        "action_mentioned": action_mentions(tool, index) if tool else [],
        "weak_arguments": weak,
        "caps": [_cap_usage(c, ledger, now) for c in verdict.charges],
        "categories": list(verdict.categories),
        "errors": list(verdict.errors),
    }


_EXCERPT = 80


def action_mentions(tool: str, index: ValueOriginIndex) -> list[Json]:
    """Untrusted content that mentions this call's action: the tool's name, or its verb (the
    first word of the name: ``delete`` for ``delete_file``) in any inflection. An injection that
    asks for an action with values the system itself supplies (delete the file the listing
    shows) has no untrusted value to show; this shows the person who asked for the action."""
    pattern = _action_pattern(tool)
    found: list[Json] = []
    for item in index.items():
        if item.label.trusted and not (item.tainted or item.taint_spans):
            continue
        match = pattern.search(item.text)
        if match is not None:
            lo, hi = max(0, match.start() - _EXCERPT), match.end() + _EXCERPT
            found.append({"item_id": item.id, "source": item.label.source,
                          "excerpt": item.text[lo:hi], "word": match.group(0)})  # fmt: skip
    return found


@functools.lru_cache(maxsize=256)
def _action_pattern(tool: str) -> re.Pattern[str]:
    words = [re.escape(tool), re.escape(tool.replace("_", " "))]
    verb = tool.split("_", maxsplit=1)[0].lower()
    if len(verb) >= 3:
        stem = verb[:-1] if verb.endswith("e") else verb
        words.append(f"{re.escape(verb)}(?:s|d|ed)?|{re.escape(stem)}(?:es|ed|ing)")
    return re.compile(r"\b(?:" + "|".join(words) + r")\b", re.IGNORECASE)


def _cap_usage(charge: CapCharge, ledger: CapLedger, now: float) -> Json:
    try:
        after: float | None = ledger.usage_after(charge, now)
    except Exception:  # a risk signal that cannot be read is shown as unknown
        after = None
    return {
        "cap": charge.cap_id,
        "kind": charge.kind,
        "this_call": charge.amount,
        "usage_after": after,
        "max": charge.max,
        "window_s": charge.window_s,
    }


class FrozenOrigins(ValueOriginIndex):
    """A value-origin index that answers from a stored snapshot (see :func:`snapshot`).

    ``lookup(value, path)`` returns the stored leaves of ``path`` when they hold exactly
    ``value``; anything else has no origin (``unknown``), which never makes a call more allowed.
    """

    def __init__(self, provenance: Mapping[str, Json]) -> None:
        super().__init__()
        self._leaves: dict[str, list[LeafProvenance]] = {
            arg: [_leaf_from_json(leaf) for leaf in data.get("leaves", [])]
            for arg, data in provenance.items()
        }

    def lookup(self, value: object, path: str = "") -> list[LeafProvenance]:
        arg = path.split(".", 1)[0].split("[", 1)[0]  # ``body[url 1]``: a rule's extract
        stored = [leaf for leaf in self._leaves.get(arg, []) if _under(leaf.path, path)]
        fresh = ValueOriginIndex().lookup(value, path)
        if [(s.path, s.value) for s in stored] != [(f.path, f.value) for f in fresh]:
            return fresh  # a different value than the one approved: no known origin
        return stored


def _under(leaf_path: str, path: str) -> bool:
    return leaf_path == path or leaf_path.startswith(path + ".") or not path


def _leaf_from_json(data: Json) -> LeafProvenance:
    origins = tuple(
        Origin(
            o["item_id"],
            o["source"],
            bool(o["trusted"]),
            bool(o["tainted"]),
            o["field"],
            o["match"],
        )
        for o in data.get("origins", [])
    )
    return LeafProvenance(data["path"], data["value"], origins, bool(data.get("trackable", True)))


def highlight_parts(text: str, spans: list[list[int]]) -> Iterator[tuple[str, bool]]:
    """``text`` cut into (piece, highlighted) parts, for rendering."""
    pos = 0
    for start, end in sorted((int(s), int(e)) for s, e in spans):
        if start < pos or end > len(text):
            continue
        if start > pos:
            yield text[pos:start], False
        yield text[start:end], True
        pos = end
    if pos < len(text):
        yield text[pos:], False
