"""Prompt-injection / jailbreak detector: fast rules plus a small linear model.

Layers (see ``docs/detector.md``):

1. **Rules** (:mod:`._detector_rules`): precompiled, precise regexes with ids, run on the
   whole normalised text.
2. **Model**: TF-IDF (raw counts, l1 normalised) over word 1-2 grams and in-word
   character n-grams, scored by a logistic-regression weight vector. :meth:`score` takes
   the *maximum* over every run of ``WINDOW_TOKENS`` consecutive tokens, so an injected
   paragraph is not diluted by a long benign document; a text of at most that many tokens
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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import accumulate, chain, repeat
from operator import add, mul, sub, truediv
from pathlib import Path
from typing import Any, Final

from ringfence.guards._detector_rules import rule_hits
from ringfence.guards._detector_text import normalize, segments, subtokens
from ringfence.guards._detector_weights import DetectorWeightsError, parse_weights

DEFAULT_WEIGHTS: Final = Path(__file__).resolve().parent / "data" / "injection_detector.json"
_CACHE_LIMIT: Final = 200_000
WINDOW_TOKENS: Final = 64
"""score() takes the maximum model value over runs of this many consecutive tokens ..."""
WINDOW_STRIDE: Final = 8
"""... starting every this many tokens (so any run of <= 56 tokens lies inside one window)."""
_TOKEN_EPS: Final = 1e-9
"""Added to each token's idf mass so that a window with no known feature scores 0, not 0/0
(relative effect on real windows < 1e-10)."""


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


class _LinearModel:
    """TF-IDF (raw counts, l1 norm) dot a coefficient vector; mirrors the training pipeline.

    With l1 normalisation the decision value is ``sum(tf*idf*coef) / sum(tf*idf) + b``,
    so every token contributes two cached numbers (its own unigram and char n-grams) and
    every bigram two looked-up numbers: scoring is a few C-level sums per segment.
    """

    def __init__(self, features: Sequence[str], idf: Sequence[float], coef: Sequence[float],
                 intercept: float, char_range: tuple[int, int]) -> None:  # fmt: skip
        self._index = {f: i for i, f in enumerate(features)}
        self._num = [c * d for c, d in zip(coef, idf, strict=True)]
        self._den = list(idf)
        self._intercept = intercept
        self._char_range = char_range
        self._tok_num: dict[str, float] = {}
        self._tok_den: dict[str, float] = {}
        self._chunk_tokens: dict[str, tuple[str, ...]] = {}
        self._tok_id: dict[str, int] = {}
        self._big_num: dict[int, float] = {}
        self._big_den: dict[int, float] = {}
        self._build_bigrams(features)

    def _build_bigrams(self, features: Sequence[str]) -> None:
        pairs = [(i, f[2:].split(" ", 1)) for i, f in enumerate(features) if f.startswith("b:")]
        for _, (a, b) in pairs:
            for tok in (a, b):
                self._tok_id.setdefault(tok, len(self._tok_id) + 1)
        self._radix = len(self._tok_id) + 1
        for i, (a, b) in pairs:
            code = self._tok_id[a] * self._radix + self._tok_id[b]
            self._big_num[code] = self._num[i]
            self._big_den[code] = self._den[i]

    def _fill(self, tokens: Iterable[str], num: dict[str, float], den: dict[str, float]) -> None:
        low, high = self._char_range
        for token in tokens:
            padded = f" {token} "
            grams = ["w:" + token]
            for n in range(low, high + 1):
                grams.extend(["c:" + padded[i : i + n] for i in range(len(padded) - n + 1)])
            ids = [i for i in map(self._index.get, grams) if i is not None]
            num[token] = sum(self._num[i] for i in ids)
            den[token] = sum(self._den[i] for i in ids) + _TOKEN_EPS

    def tokens(self, normalized: str) -> list[str]:
        """Tokens of normalised text (whitespace chunks are split once and cached)."""
        if len(self._chunk_tokens) > _CACHE_LIMIT:  # replace, never clear (thread safety)
            self._chunk_tokens = {}
        cache = self._chunk_tokens
        chunks = normalized.split()
        for chunk in set(chunks).difference(cache):
            cache[chunk] = tuple(subtokens(chunk))
        return list(chain.from_iterable(map(cache.__getitem__, chunks)))

    def _contributions(
        self, tokens: list[str]
    ) -> tuple[list[float], list[float], list[float], list[float]]:
        """Per-token (num, den) and per-bigram (num, den); bigram i joins tokens i and i+1."""
        if len(self._tok_num) > _CACHE_LIMIT:  # replace, never clear: other threads keep theirs
            self._tok_num, self._tok_den = {}, {}
        num_cache, den_cache = self._tok_num, self._tok_den
        missing = set(tokens).difference(num_cache)
        if missing:
            self._fill(missing, num_cache, den_cache)
        ids = list(map(self._tok_id.get, tokens, repeat(0)))
        codes = list(map(add, map(mul, ids, repeat(self._radix)), ids[1:]))
        return (
            list(map(num_cache.__getitem__, tokens)),
            list(map(den_cache.__getitem__, tokens)),
            list(map(self._big_num.get, codes, repeat(0.0))),
            list(map(self._big_den.get, codes, repeat(0.0))),
        )

    def logit(self, tokens: list[str]) -> float:
        """Decision value of one whole text, exactly as the training pipeline."""
        return _ratio(*self._contributions(tokens)) + self._intercept

    def window_logit(self, tokens: list[str], window: int, stride: int) -> float:
        """Max decision value over runs of ``window`` tokens starting every ``stride`` tokens.

        A text of at most ``window`` tokens is scored whole (same as :meth:`logit`); the
        last window always ends at the last token. Prefix sums keep the cost linear.
        """
        tok_num, tok_den, big_num, big_den = self._contributions(tokens)
        if len(tokens) <= window:
            return _ratio(tok_num, tok_den, big_num, big_den) + self._intercept
        num = _window_sums(tok_num, big_num, window, stride)
        den = _window_sums(tok_den, big_den, window, stride)
        best: float = max(map(truediv, num, den))
        return best + self._intercept


def _ratio(tok_num: list[float], tok_den: list[float], big_num: list[float],
           big_den: list[float]) -> float:  # fmt: skip
    den = sum(tok_den) + sum(big_den)
    return (sum(tok_num) + sum(big_num)) / den if den > 0 else 0.0


def _window_sums(per_token: list[float], per_bigram: list[float], window: int, stride: int
                 ) -> list[float]:  # fmt: skip
    """Sum over tokens [i, i+window) plus the bigrams inside, for i = 0, stride, ..., last."""
    tok = list(accumulate(per_token, initial=0.0))
    big = list(accumulate(per_bigram, initial=0.0))
    last = len(per_token) - window
    starts = [*range(0, last, stride), last]
    ends = [i + window for i in starts]
    tok_sums = map(sub, map(tok.__getitem__, ends), map(tok.__getitem__, starts))
    big_sums = map(sub, map(big.__getitem__, [e - 1 for e in ends]), map(big.__getitem__, starts))
    return list(map(add, tok_sums, big_sums))


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

    def __init__(self, model: _LinearModel, calibration: _Calibration, max_model_chars: int,
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
        model = _LinearModel(parsed.features, parsed.idf, parsed.coef, parsed.intercept,
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
        """Uncalibrated model decision value (max over token windows)."""
        tokens = self._model.tokens(self._model_text(normalize(text)))
        return self._model.window_logit(tokens, WINDOW_TOKENS, WINDOW_STRIDE)

    def score(self, text: str) -> DetectorScore:
        """Score a whole text: rules on all of it, the model on its token windows."""
        normalized = normalize(text)
        tokens = self._model.tokens(normalized)
        if len(normalized) > self._max_model_chars:
            model_tokens = self._model.tokens(self._model_text(normalized))
        else:
            model_tokens = tokens
        z = self._model.window_logit(model_tokens, WINDOW_TOKENS, WINDOW_STRIDE)
        hits = rule_hits(normalized, set(tokens))
        return DetectorScore(self._cal.score(z, bool(hits)), self._cal.model_score(z), hits)

    def spans(self, text: str, threshold: float) -> list[DetectorSpan]:
        """Segments (lines / sentences merged up to ``SEGMENT_CHARS``) scoring >= threshold.

        Each segment is scored on its own, rules included, so a caller can taint only the
        injected part of a long document. Offsets index the original ``text``.
        """
        out: list[DetectorSpan] = []
        for seg in segments(text):
            piece = text[seg.start : seg.end]
            tokens = self._model.tokens(normalize(piece))
            fired = bool(rule_hits(normalize(piece), set(tokens)))
            value = self._cal.score(self._model.logit(tokens), fired)
            if value >= threshold:
                out.append(DetectorSpan(seg.start, seg.end, value))
        return out
