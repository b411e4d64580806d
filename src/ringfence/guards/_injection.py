"""The injection guard: the project's prompt-injection / jailbreak detector as a guard.

The detector (``ringfence.guards._detector``: fast rules plus a small linear model with a
calibrated score) is loaded once per weights file and shared by every guard that uses it, when the
pipeline is built, never at the first request.
"""

from __future__ import annotations

import importlib
import math
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, Protocol

from pydantic import BaseModel, ConfigDict, Field

from ringfence.exceptions import ConfigError
from ringfence.guards._registry import guard
from ringfence.guards._types import Action, Finding
from ringfence.provenance import Label


class ScoreLike(Protocol):
    score: float
    rule_hits: tuple[str, ...]


class SpanLike(Protocol):
    start: int
    end: int
    score: float


class Detector(Protocol):
    """What guards need from the injection detector (``InjectionDetector`` fits)."""

    @property
    def default_threshold(self) -> float: ...
    def score(self, text: str) -> Any: ...
    def spans(self, text: str, threshold: float) -> Sequence[Any]: ...
    def threshold_for_fpr(self, target_fpr: float) -> float: ...


_DETECTORS: dict[str, Detector] = {}
_LOCK = threading.Lock()


def load_detector(weights: str | Path | None = None) -> Detector:
    """The shared detector for ``weights`` (default: the bundled weights), loaded once."""
    key = str(weights or "")
    with _LOCK:
        found = _DETECTORS.get(key)
        if found is None:
            found = _DETECTORS[key] = _load(weights)
        return found


def _load(weights: str | Path | None) -> Detector:
    try:
        module = importlib.import_module("ringfence.guards._detector")
    except ImportError as exc:
        raise ConfigError(
            "the injection detector is not part of this build (ringfence.guards._detector)"
        ) from exc
    try:
        loaded: Detector = module.InjectionDetector.load(Path(weights) if weights else None)
    except Exception as exc:
        raise ConfigError(f"cannot load the injection detector: {exc}") from exc
    return loaded


def describe(score: ScoreLike) -> str:
    rules = f" (rules: {', '.join(score.rule_hits)})" if score.rule_hits else ""
    return f"prompt-injection score {score.score:.3f}{rules}"


def windows(text: str, size: int, overlap: int = 512) -> list[tuple[int, int]]:
    """Overlapping ``[start, end)`` windows that cover ``text`` (one when it is short)."""
    if len(text) <= size:
        return [(0, len(text))]
    step = max(size - overlap, 1)
    starts = range(0, max(len(text) - overlap, 1), step)
    return [(s, min(s + size, len(text))) for s in starts]


@guard(name="injection")
class InjectionGuard:
    """Scores text with the injection detector; with ``spans``, findings name the segments that
    score at or above the policy's lowest band, so only those get tainted.

    Long texts are scored window by window (``window_chars``), so the work is linear in the length
    and nothing is left unscanned; the pipeline's deadline and the size guard bound it.
    """

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")
        fpr: float | None = Field(default=None, gt=0.0, lt=1.0)
        """Target false-positive rate; sets the threshold from the detector's calibration
        (default: the detector's own default threshold). A step's ``threshold`` overrides it."""
        weights: str | None = None
        """Path of a weights file (default: the bundled one)."""
        spans: bool = True
        """Report the flagged segments (else one finding for the whole text)."""
        window_chars: int = Field(default=16_384, ge=1024)
        """Texts longer than this are scored in overlapping windows of this size."""

    default_action: ClassVar[Action] = "block"
    inline: bool = True  # bounded CPU work, no I/O: may run in the calling thread

    def __init__(
        self,
        fpr: float | None = None,
        weights: str | None = None,
        spans: bool = True,
        window_chars: int = 16_384,
        detector: Detector | None = None,
    ) -> None:
        self.name = "injection"
        self.detector = detector or load_detector(weights)
        self.pure = detector is None  # the bundled (or a weights file's) detector: a function
        if fpr is not None:
            self.threshold = float(self.detector.threshold_for_fpr(fpr))
        else:
            self.threshold = float(self.detector.default_threshold)
        if not (0.0 <= self.threshold <= 1.0 and math.isfinite(self.threshold)):
            raise ConfigError(f"injection: detector threshold {self.threshold!r} is not in [0, 1]")
        self.floor = self.threshold
        self.spans = spans
        self.window_chars = window_chars

    def calibrate(self, threshold: float, floor: float) -> None:
        """Told by the pipeline: the effective threshold and the lowest score it acts on."""
        self.threshold = threshold
        self.floor = min(floor, threshold)

    def check(self, text: str, label: Label) -> Sequence[Finding]:
        if not text.strip():
            return []
        parts = windows(text, self.window_chars)
        scores = [self.detector.score(text[a:b]) for a, b in parts]
        best = max(scores, key=lambda s: float(s.score))
        whole = Finding(self.name, "injection", float(best.score), None, describe(best))
        if whole.score < self.floor or not self.spans:
            return [whole]
        found = [
            Finding(
                self.name,
                "injection",
                float(sp.score),
                (a + sp.start, a + sp.end),
                f"prompt-injection score {float(sp.score):.3f} for this passage",
            )
            for (a, b), s in zip(parts, scores, strict=True)
            if float(s.score) >= self.floor
            for sp in self.detector.spans(text[a:b], self.floor)
        ]
        found = _dedupe(found)
        if found and max(f.score for f in found) >= min(whole.score, self.threshold):
            return found
        return [*found, whole]


def _dedupe(found: list[Finding]) -> list[Finding]:
    """Drop spans repeated by overlapping windows (same range: keep the highest score)."""
    best: dict[tuple[int, int] | None, Finding] = {}
    for f in found:
        if f.span not in best or f.score > best[f.span].score:
            best[f.span] = f
    return sorted(best.values(), key=lambda f: f.span or (0, 0))
