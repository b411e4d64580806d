"""A bounded cache of guard verdicts, for pipelines whose guards are pure.

A chat proxy sees the whole conversation on every request, so without it every earlier user
message and tool result is screened again on every turn. Rules (fail closed):

- only directions whose every guard declares ``pure = True`` (the findings depend only on the
  text and its label) are cached, and only ``input`` and ``untrusted`` (conversation history;
  answers are new text every time);
- only complete verdicts are stored: a report with an error (a guard that raised, timed out or
  answered something malformed) is never stored, so the next identical text is checked again;
- the key is (direction, label source, label trust, SHA-256 of the text): no text is kept;
- least recently used entries go first once ``size`` entries are held.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import replace

from ringfence.guards._types import Direction, GuardReport
from ringfence.provenance import Label

CACHED_DIRECTIONS: tuple[Direction, ...] = ("input", "untrusted")

CacheKey = tuple[str, str, bool, bytes]


class VerdictCache:
    """Thread-safe LRU of :class:`GuardReport` by (direction, label, text digest)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict[CacheKey, GuardReport] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @staticmethod
    def key(text: str, label: Label, direction: Direction) -> CacheKey:
        digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()
        return (direction, label.source, label.trusted, digest)

    def get(self, key: CacheKey, latency_ms: float) -> GuardReport | None:
        """The stored report (marked ``cached``, with this lookup's latency), or ``None``."""
        with self._lock:
            report = self._entries.get(key)
            if report is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
        result = replace(report.result, latency_ms=latency_ms)
        return replace(report, result=result, cached=True)

    def put(self, key: CacheKey, report: GuardReport) -> None:
        """Store a complete verdict; reports with errors are not stored."""
        if report.result.verdict == "error" or report.result.errors:
            return
        with self._lock:
            self._entries[key] = report
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)
