"""Prompt-injection / jailbreak detector: fast rules plus a small linear model.

Layers (see ``docs/detector.md``):

1. **Rules** (:mod:`._detector_rules`): precompiled, precise regexes with ids, run on the
   whole normalised text.
2. **Model**: TF-IDF (raw counts, l1 normalised) over word 1-2 grams and in-word
   character n-grams, scored by a logistic-regression weight vector
   (:mod:`._detector_model`). :meth:`score` takes the *maximum* over windows of
   ``WINDOW_WORDS`` consecutive words (every ``WINDOW_STRIDE`` words), so an injected
   paragraph is not diluted by a long benign document; a text of at most that many words
   is scored whole, exactly as in training.
3. **Calibration**: Platt scaling fitted on the validation splits, once for the model alone
   (``model_score``) and once for model plus "a rule fired" (``score``).

Work is bounded: for a normalised text longer than ``max_model_chars`` (16 KiB by
default) the model sees only its first and last ``max_model_chars / 2`` characters; rules
always see the whole text. :meth:`InjectionDetector.spans` scores every segment (lines /
sentences merged up to ``SEGMENT_CHARS`` characters) with no cap: it is meant for
explicit document scans.

Run time needs no scikit-learn: weights are a JSON file (no pickle), read once.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from ringfence.guards._detector_model import LinearModel
from ringfence.guards._detector_rules import rule_hits
from ringfence.guards._detector_text import normalize, segments
from ringfence.guards._detector_weights import DetectorWeightsError, parse_weights

DEFAULT_WEIGHTS: Final = Path(__file__).resolve().parent / "data" / "injection_detector.json"
WINDOW_WORDS: Final = 48
"""score() takes the maximum model value over runs of this many whitespace-separated words
(chunks) ..."""
WINDOW_STRIDE: Final = 8
"""... starting every this many words: any run of <= 40 words lies inside one window."""


@dataclass(frozen=True)
class DetectorScore:
    """Result of :meth:`InjectionDetector.score`."""

    score: float
    """Calibrated probability (0..1) that the text is an injection / jailbreak."""
    model_score: float
    """The trained model's calibrated probability alone (rules ignored)."""
    rule_hits: tuple[str, ...]
    """Ids of the fast rules that fired."""


@dataclass(frozen=True)
class DetectorSpan:
    """A segment ``text[start:end]`` whose own score reached the threshold."""

    start: int
    end: int
    score: float


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


@dataclass(frozen=True)
class _Calibration:
    model: tuple[float, float]  # (a, b): model_score = sigmoid(a * z + b)
    combined: tuple[float, float, float]  # (a, c, b): score = sigmoid(a * z + c * rule + b)
    fpr_thresholds: tuple[tuple[float, float], ...]  # ascending fpr, non-increasing threshold
    default_threshold: float

    def model_score(self, z: float) -> float:
        return _sigmoid(self.model[0] * z + self.model[1])

    def score(self, z: float, rule_fired: bool) -> float:
        a, c, b = self.combined
        return _sigmoid(a * z + (c if rule_fired else 0.0) + b)


class InjectionDetector:
    """Score texts for prompt injection / jailbreak; see the module docstring."""

    def __init__(self, model: LinearModel, calibration: _Calibration, max_model_chars: int,
                 metadata: dict[str, Any]) -> None:  # fmt: skip
        self._model = model
        self._cal = calibration
        self._max_model_chars = max_model_chars
        self.metadata = metadata
        """Everything in the weights file except the weights themselves."""

    @classmethod
    def load(cls, path: Path | None = None) -> InjectionDetector:
        """Read a weights file (default: the bundled one)."""
        target = DEFAULT_WEIGHTS if path is None else Path(path)
        try:
            raw = json.loads(target.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise DetectorWeightsError(f"detector weights file not found: {target}") from exc
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise DetectorWeightsError(f"cannot read detector weights {target}: {exc}") from exc
        return cls.from_dict(raw, source=str(target))

    @classmethod
    def from_dict(cls, raw: Any, source: str = "<dict>") -> InjectionDetector:
        """Build from an already parsed weights document (validated)."""
        parsed = parse_weights(raw, source)
        model = LinearModel(parsed.features, parsed.idf, parsed.coef, parsed.intercept,
                             parsed.char_range)  # fmt: skip
        cal = _Calibration(parsed.cal_model, parsed.cal_combined, parsed.fpr_thresholds,
                           parsed.default_threshold)  # fmt: skip
        return cls(model, cal, parsed.max_model_chars, parsed.metadata)

    @property
    def default_threshold(self) -> float:
        """Threshold chosen at training time (see the weights' metadata for its FPR)."""
        return self._cal.default_threshold

    def threshold_for_fpr(self, target_fpr: float) -> float:
        """Lowest stored threshold whose validation false-positive rate is <= target_fpr.

        Monotone: a larger target never gives a larger threshold. Below the smallest
        stored rate the strictest stored threshold is returned.
        """
        if not 0.0 <= target_fpr <= 1.0 or math.isnan(target_fpr):
            raise ValueError(f"target_fpr must be within [0, 1], got {target_fpr!r}")
        table = self._cal.fpr_thresholds
        best = table[0][1]
        for fpr, threshold in table:
            if fpr <= target_fpr:
                best = threshold
        return best

    def _model_text(self, normalized: str) -> str:
        """The text the model sees: all of it, or head and tail beyond max_model_chars."""
        if len(normalized) <= self._max_model_chars:
            return normalized
        half = self._max_model_chars // 2
        return normalized[:half] + "\n" + normalized[-half:]

    def raw_logit(self, text: str) -> float:
        """Uncalibrated model decision value (max over word windows)."""
        scan = self._model.scan(self._model_text(normalize(text)))
        return self._model.window_logit(scan, WINDOW_WORDS, WINDOW_STRIDE)

    def score(self, text: str) -> DetectorScore:
        """Score a whole text: rules on all of it, the model on its word windows."""
        normalized = normalize(text)
        scan = self._model.scan(normalized)
        if len(normalized) > self._max_model_chars:
            model_scan = self._model.scan(self._model_text(normalized))
        else:
            model_scan = scan
        z = self._model.window_logit(model_scan, WINDOW_WORDS, WINDOW_STRIDE)
        hits = rule_hits(normalized, scan.token_set())
        return DetectorScore(self._cal.score(z, bool(hits)), self._cal.model_score(z), hits)

    def spans(self, text: str, threshold: float) -> list[DetectorSpan]:
        """Segments (lines / sentences merged up to ``SEGMENT_CHARS``) scoring >= threshold.

        Each segment is scored on its own, rules included, so a caller can taint only the
        injected part of a long document. Offsets index the original ``text``.
        """
        out: list[DetectorSpan] = []
        for seg in segments(text):
            piece = text[seg.start : seg.end]
            normalized = normalize(piece)
            scan = self._model.scan(normalized)
            fired = bool(rule_hits(normalized, scan.token_set()))
            value = self._cal.score(self._model.logit(scan), fired)
            if value >= threshold:
                out.append(DetectorSpan(seg.start, seg.end, value))
        return out
