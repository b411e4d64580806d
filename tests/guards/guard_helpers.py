"""Test doubles for the guards: a scripted injection detector (no weights needed)."""

from __future__ import annotations

import re
from dataclasses import dataclass

_HIT = re.compile(
    r"ignore (?:all )?previous instructions|you are now dan|reveal the system prompt", re.IGNORECASE
)
_MAYBE = re.compile(r"disregard|new instructions", re.IGNORECASE)
_SEGMENT = re.compile(r"[^\n]+")


@dataclass(frozen=True)
class FakeScore:
    score: float
    model_score: float
    rule_hits: tuple[str, ...]


@dataclass(frozen=True)
class FakeSpan:
    start: int
    end: int
    score: float


class FakeDetector:
    """0.97 for known attack phrases, 0.6 for suspicious words, else 0.02; spans are lines."""

    default_threshold = 0.8

    def __init__(self) -> None:
        self.calls = 0

    def score(self, text: str) -> FakeScore:
        self.calls += 1
        if _HIT.search(text):
            return FakeScore(0.97, 0.9, ("override",))
        if _MAYBE.search(text):
            return FakeScore(0.6, 0.6, ())
        return FakeScore(0.02, 0.02, ())

    def spans(self, text: str, threshold: float) -> list[FakeSpan]:
        out = []
        for m in _SEGMENT.finditer(text):
            value = self.score(m.group()).score
            if value >= threshold:
                out.append(FakeSpan(m.start(), m.end(), value))
        return out

    def threshold_for_fpr(self, target_fpr: float) -> float:
        return 0.9 if target_fpr < 0.05 else 0.5
