"""The value-origin index: for a tool-call argument value, which content items it occurs in.

Each content item is cut into *segments*: its text (or, for structured tool results, each field),
minus any spans a guard flagged, plus each flagged span on its own. A segment carries the trust
of its item (or field) and whether it is tainted. A value is looked up by its canonical form
(see :mod:`ringfence.provenance._normalize`) in every segment.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from decimal import Decimal
from typing import Literal

from ringfence.provenance._dates import canonical_date, dates_in
from ringfence.provenance._label import ContentItem, source_matches
from ringfence.provenance._normalize import (
    canonical_email,
    canonical_iban,
    canonical_number,
    canonical_url,
    clean_text,
    emails_in,
    iban_pattern,
    normalize_text,
    numbers_in,
    urls_in,
)

MatchKind = Literal["text", "number", "email", "url", "iban", "date"]

OriginStatus = Literal["trusted", "untrusted", "tainted", "unknown", "empty", "untrackable"]
"""Where a value came from, summarised for rules:

- ``trusted``: it occurs in at least one trusted, untainted segment;
- ``tainted``: not trusted, and it occurs in a segment a guard flagged (e.g. as an injection);
- ``untrusted``: it occurs only in untrusted content (the value is *untrusted-origin*);
- ``unknown``: it occurs in no content at all (invented or transformed by the model);
- ``empty``: an empty string or list, which carries nothing;
- ``untrackable``: a boolean or null, which literal matching cannot trace.
"""


@dataclass(frozen=True)
class Origin:
    """One occurrence of a value: the item (and field) it is in, and how it matched."""

    item_id: str
    source: str
    trusted: bool
    tainted: bool
    field: str | None
    match: MatchKind


@dataclass(frozen=True)
class LeafProvenance:
    """The origins of one leaf of an argument value (``path`` is ``to`` or ``to.1``)."""

    path: str
    value: object
    origins: tuple[Origin, ...]
    trackable: bool = True

    @property
    def status(self) -> OriginStatus:
        if not self.trackable:
            return "untrackable"
        if _is_empty(self.value):
            return "empty"
        if any(o.trusted and not o.tainted for o in self.origins):
            return "trusted"
        if any(o.tainted for o in self.origins):
            return "tainted"
        return "untrusted" if self.origins else "unknown"

    def from_sources(self, patterns: Iterable[str]) -> bool:
        """Whether the value occurs, untainted, in a segment matching a source pattern.

        The pattern ``trusted`` matches any trusted segment; other patterns are sources with an
        optional field pattern after ``#``: ``tool:get_order#customer.email``.
        """
        return any(_origin_matches(o, p) for o in self.origins if not o.tainted for p in patterns)


def _origin_matches(origin: Origin, pattern: str) -> bool:
    if pattern == "trusted":
        return origin.trusted
    source, _, field_pat = pattern.partition("#")
    if not source_matches(origin.source, source):
        return False
    return not field_pat or (origin.field is not None and source_matches(origin.field, field_pat))


def _is_empty(value: object) -> bool:
    return (isinstance(value, str) and not value.strip()) or value in ([], {})


_Features = tuple[str, str, frozenset[str], frozenset[str], frozenset[str], frozenset[str]]
_CACHE_MAX_CHARS = 8192


def _compute_features(text: str) -> _Features:
    """(normalized text, cleaned text, numbers, e-mails, URLs, dates) of a segment's text."""
    clean = clean_text(text)
    numbers, emails = frozenset(numbers_in(clean)), frozenset(emails_in(clean))
    urls, dates = frozenset(urls_in(clean)), frozenset(dates_in(clean))
    return normalize_text(clean), clean, numbers, emails, urls, dates


# The same texts come back again and again (a system prompt, a conversation's earlier turns that
# a proxy sees on every request): their features are a pure function of the text, so the last
# 512 (of texts up to 8192 characters) are kept.
_cached_features = functools.lru_cache(maxsize=512)(_compute_features)


def _features(text: str) -> _Features:
    return _cached_features(text) if len(text) <= _CACHE_MAX_CHARS else _compute_features(text)


@dataclass(frozen=True)
class _Segment:
    item_id: str
    source: str
    trusted: bool
    tainted: bool
    field: str | None
    text: str
    clean: str
    numbers: frozenset[str]
    emails: frozenset[str]
    urls: frozenset[str]
    dates: frozenset[str]
    origins: dict[MatchKind, Origin] = dataclass_field(
        default_factory=dict, compare=False, repr=False
    )
    """The :class:`Origin` of a match of each kind, made on first use (they are immutable)."""

    def origin(self, kind: MatchKind) -> Origin:
        found = self.origins.get(kind)
        if found is None:
            found = Origin(self.item_id, self.source, self.trusted, self.tainted, self.field, kind)
            self.origins[kind] = found
        return found

    @classmethod
    def build(
        cls, item: ContentItem, text: str, field: str | None, trusted: bool, tainted: bool
    ) -> _Segment:
        normalized, clean, numbers, emails, urls, dates = _features(text)
        return cls(
            item_id=item.id,
            source=item.label.source,
            trusted=trusted,
            tainted=tainted,
            field=field,
            text=normalized,
            clean=clean,
            numbers=numbers,
            emails=emails,
            urls=urls,
            dates=dates,
        )


def _segments(item: ContentItem) -> Iterator[_Segment]:
    if item.fields:
        for path, text in item.fields.items():
            trusted = item.trust_of_field(path)
            yield _Segment.build(item, text, path, trusted, item.tainted)
        return
    if item.tainted or not item.taint_spans:
        yield _Segment.build(item, item.text, None, item.label.trusted, item.tainted)
        return
    spans = sorted(item.taint_spans, key=lambda s: s.start)
    clean, pos = [], 0
    for span in spans:
        clean.append(item.text[pos : span.start])
        yield _Segment.build(item, item.text[span.start : span.end], None, item.label.trusted, True)
        pos = max(pos, span.end)
    clean.append(item.text[pos:])
    # a separator no value contains, so cutting a span out never joins the two halves
    yield _Segment.build(item, " \x00 ".join(clean), None, item.label.trusted, False)


def _bounded_find(haystack: str, needle: str) -> bool:
    """``needle`` occurs in ``haystack`` not glued to a letter or digit on either side."""
    start = haystack.find(needle)
    while start != -1:
        end = start + len(needle)
        before = haystack[start - 1] if start else " "
        after = haystack[end] if end < len(haystack) else " "
        left_ok = not (needle[0].isalnum() and before.isalnum())
        right_ok = not (needle[-1].isalnum() and after.isalnum())
        if left_ok and right_ok:
            return True
        start = haystack.find(needle, start + 1)
    return False


@dataclass(frozen=True)
class _Query:
    text: str
    number: str | None
    email: str | None
    url: str | None
    iban: str | None
    date: str | None = None

    @classmethod
    def of(cls, value: str | int | float | Decimal) -> _Query:
        if not isinstance(value, str):
            # a number is found only as a number (``25`` is not in ``4.25``, ``-25`` or ``250``)
            return cls("", canonical_number(value), None, None, None)
        return cls(
            text=normalize_text(value),
            number=canonical_number(value),
            email=canonical_email(value),
            url=canonical_url(value),
            iban=canonical_iban(value),
            date=canonical_date(value),
        )

    def match(self, seg: _Segment) -> MatchKind | None:
        """How this value occurs in one segment (e-mails and URLs match only canonically)."""
        if self.email is not None:
            return "email" if self.email in seg.emails else None
        if self.url is not None:
            return "url" if self.url in seg.urls else None
        if self.date is not None:
            return "date" if self.date in seg.dates else None
        if self.iban is not None and iban_pattern(self.iban).search(seg.clean):
            return "iban"
        if self.number is not None and self.number in seg.numbers:
            return "number"
        if self.text and self.text in seg.text and _bounded_find(seg.text, self.text):
            return "text"
        return None


_QUERY_MAX_CHARS = 256
_QUERY_MEMO_SIZE = 1024
_queries: dict[tuple[type, object], _Query] = {}


def _query(value: str | int | float | Decimal) -> _Query:
    """:meth:`_Query.of`, remembered for up to 1024 short values (the same arguments come back
    call after call; a query is a pure function of the value). The key holds the type, which
    keeps ``1``, ``1.0`` and ``Decimal(1)`` apart (they hash alike)."""
    if isinstance(value, str) and len(value) > _QUERY_MAX_CHARS:
        return _Query.of(value)
    key = (type(value), value)
    query = _queries.get(key)
    if query is None:
        if len(_queries) >= _QUERY_MEMO_SIZE:
            _queries.clear()
        query = _queries[key] = _Query.of(value)
    return query


class ValueOriginIndex:
    """Answers, for any argument value, which content items (and fields / spans) it occurs in.

    Content is added as the model sees it; a guard that flags an item (or spans of it) calls
    :meth:`replace` with the flagged item. E-mail addresses, URLs, dates and numbers are looked
    up in dictionaries; other text is searched in each segment, after one check that it occurs
    at all.

    Items are cut into segments when the index is first asked about a value after they were
    added (most conversations a proxy sees end without a tool call, so nothing asks): a lookup
    answers exactly as if every item had been indexed when it was added.
    """

    def __init__(self, items: Iterable[ContentItem] = ()) -> None:
        self._items: dict[str, ContentItem] = {}
        self._segments: dict[str, list[_Segment]] = {}
        self._keyed: dict[tuple[str, str], list[_Segment]] = {}
        self._all_text = ""
        self._pending: dict[str, None] = {}  # ids added (or replaced) since the last lookup
        self._lock = threading.Lock()
        for item in items:
            self.add(item)

    def add(self, item: ContentItem) -> None:
        with self._lock:
            self._items[item.id] = item
            self._pending[item.id] = None

    def _build(self) -> None:
        """Segment and index the items added since the last lookup (all or nothing: an item
        that cannot be segmented raises here, on every lookup, and is never skipped)."""
        if not self._pending:
            return
        with self._lock:
            pending = list(self._pending)
            built = {i: list(_segments(self._items[i])) for i in pending}
            replacing = any(i in self._segments for i in pending)
            self._segments.update(built)
            if replacing:
                self._reindex()
            else:
                for segments in built.values():
                    self._index_segments(segments)
            for item_id in pending:
                self._pending.pop(item_id, None)

    def _index_segments(self, segments: list[_Segment]) -> None:
        for seg in segments:
            keyed = (("email", seg.emails), ("url", seg.urls), ("number", seg.numbers))
            for kind, keys in (*keyed, ("date", seg.dates)):
                for key in keys:
                    self._keyed.setdefault((kind, key), []).append(seg)
            self._all_text += "\x00" + seg.text

    def _reindex(self) -> None:
        self._keyed, self._all_text = {}, ""
        for segments in self._segments.values():
            self._index_segments(segments)

    def replace(self, item: ContentItem) -> None:
        """Re-index an item under its id (for example after a guard flagged it)."""
        self.add(item)

    def get(self, item_id: str) -> ContentItem | None:
        return self._items.get(item_id)

    def items(self) -> list[ContentItem]:
        return list(self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def lookup(self, value: object, path: str = "") -> list[LeafProvenance]:
        """Origins of every leaf of ``value`` (lists and dicts are walked)."""
        self._build()
        return [self._leaf(p, v) for p, v in _leaves(value, path)]

    def _leaf(self, path: str, value: object) -> LeafProvenance:
        if _is_empty(value):
            return LeafProvenance(path, value, ())
        if value is None or isinstance(value, bool):
            return LeafProvenance(path, value, (), trackable=False)
        if not isinstance(value, str | int | float | Decimal):
            return LeafProvenance(path, value, (), trackable=False)
        query = _query(value)
        return LeafProvenance(path, value, tuple([s.origin(k) for s, k in self._matches(query)]))

    def _matches(self, query: _Query) -> list[tuple[_Segment, MatchKind]]:
        if query.email is not None:
            return [(s, "email") for s in self._keyed.get(("email", query.email), [])]
        if query.url is not None:
            return [(s, "url") for s in self._keyed.get(("url", query.url), [])]
        if query.date is not None:
            return [(s, "date") for s in self._keyed.get(("date", query.date), [])]
        if query.iban is None and (not query.text or query.text not in self._all_text):
            # cannot occur as text: only a number written another way can still match
            segs = self._keyed.get(("number", query.number), []) if query.number else []
            return [(s, "number") for s in segs]
        found: list[tuple[_Segment, MatchKind]] = []
        for segments in self._segments.values():
            for seg in segments:
                kind = query.match(seg)
                if kind is not None:
                    found.append((seg, kind))
        return found


def _leaves(value: object, path: str) -> Iterator[tuple[str, object]]:
    if isinstance(value, Mapping):
        if not value:
            yield path, value
        for key, sub in value.items():
            yield from _leaves(sub, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list | tuple):
        if not value:
            yield path, []
        for i, sub in enumerate(value):
            yield from _leaves(sub, f"{path}.{i}" if path else str(i))
    else:
        yield path, value


def summarize(leaves: list[LeafProvenance]) -> OriginStatus:
    """The weakest status over all leaves of one argument (one untrusted leaf taints the list)."""
    order: list[OriginStatus] = [
        "tainted",
        "unknown",
        "untrackable",
        "untrusted",
        "trusted",
        "empty",
    ]
    statuses = {leaf.status for leaf in leaves}
    for status in order:
        if status in statuses:
            return status
    return "empty"
