"""Validation of the injection detector's JSON weights file.

The file is plain JSON (never a pickle)::

    {
      "format": "ringfence-injection-detector", "format_version": 1,
      "features": {"char_ngrams": [3, 5], "segment_chars": 320, "max_model_chars": 16384,
                   "tf": "raw", "norm": "l1"},
      "model": {"features": [...], "idf": [...], "coef": [...], "intercept": 0.0},
      "calibration": {"model": [a, b], "combined": [a, c, b],
                      "fpr_thresholds": [[fpr, threshold], ...], "default_threshold": t},
      ...metadata (trainer, corpora, metrics, rules)...
    }

Anything that does not match raises :class:`DetectorWeightsError` naming the field.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Final

from ringfence.guards._detector_text import SEGMENT_CHARS

FORMAT: Final = "ringfence-injection-detector"
FORMAT_VERSION: Final = 1
_WEIGHT_KEYS: Final = frozenset({"model"})


class DetectorWeightsError(ValueError):
    """The weights file is missing, unreadable or malformed."""


@dataclass(frozen=True)
class ParsedWeights:
    features: list[str]
    idf: list[float]
    coef: list[float]
    intercept: float
    char_range: tuple[int, int]
    max_model_chars: int
    cal_model: tuple[float, float]
    cal_combined: tuple[float, float, float]
    fpr_thresholds: tuple[tuple[float, float], ...]
    default_threshold: float
    metadata: dict[str, Any]


def _fail(source: str, what: str) -> DetectorWeightsError:
    return DetectorWeightsError(f"malformed detector weights {source}: {what}")


def _mapping(value: Any, source: str, name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _fail(source, f"{name!r} must be an object")
    return value


def _number(value: Any, source: str, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _fail(source, f"{name!r} must be a finite number")
    return float(value)


def _numbers(value: Any, source: str, name: str, length: int | None = None) -> list[float]:
    if not isinstance(value, list) or (length is not None and len(value) != length):
        size = "a list" if length is None else f"a list of {length} numbers"
        raise _fail(source, f"{name!r} must be {size}")
    return [_number(v, source, name) for v in value]


def _int_in(value: Any, source: str, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _fail(source, f"{name!r} must be an integer in [{low}, {high}]")
    return value


def _model(raw: dict[str, Any], source: str) -> tuple[list[str], list[float], list[float], float]:
    model = _mapping(raw.get("model"), source, "model")
    feats = model.get("features")
    if not isinstance(feats, list) or not feats or not all(isinstance(f, str) for f in feats):
        raise _fail(source, "'model.features' must be a non-empty list of strings")
    if len(set(feats)) != len(feats):
        raise _fail(source, "'model.features' has duplicates")
    idf = _numbers(model.get("idf"), source, "model.idf", len(feats))
    if any(v <= 0 for v in idf):
        raise _fail(source, "'model.idf' values must be positive")
    coef = _numbers(model.get("coef"), source, "model.coef", len(feats))
    return feats, idf, coef, _number(model.get("intercept"), source, "model.intercept")


def _table(value: Any, source: str) -> tuple[tuple[float, float], ...]:
    if not isinstance(value, list) or not value:
        raise _fail(source, "'calibration.fpr_thresholds' must be a non-empty list")
    rows = [tuple(_numbers(row, source, "calibration.fpr_thresholds[]", 2)) for row in value]
    pairs = tuple((r[0], r[1]) for r in rows)
    fprs = [p[0] for p in pairs]
    thresholds = [p[1] for p in pairs]
    if fprs != sorted(fprs) or thresholds != sorted(thresholds, reverse=True):
        raise _fail(
            source, "'calibration.fpr_thresholds' must be sorted by fpr, thresholds falling"
        )
    return pairs


def _features_config(raw: dict[str, Any], source: str) -> tuple[tuple[int, int], int]:
    feats = _mapping(raw.get("features"), source, "features")
    grams = feats.get("char_ngrams")
    if not isinstance(grams, list) or len(grams) != 2:
        raise _fail(source, "'features.char_ngrams' must be [min, max]")
    low = _int_in(grams[0], source, "features.char_ngrams[0]", 1, 8)
    high = _int_in(grams[1], source, "features.char_ngrams[1]", low, 8)
    if feats.get("tf") != "raw" or feats.get("norm") != "l1":
        raise _fail(source, "only 'features.tf' = 'raw' with 'features.norm' = 'l1' is supported")
    if feats.get("segment_chars") != SEGMENT_CHARS:
        raise _fail(source, f"'features.segment_chars' must be {SEGMENT_CHARS}")
    cap = _int_in(feats.get("max_model_chars"), source, "features.max_model_chars", 1024, 10**7)
    return (low, high), cap


def parse_weights(raw: Any, source: str) -> ParsedWeights:
    """Check a parsed weights document and return its typed pieces."""
    doc = _mapping(raw, source, "<top level>")
    if doc.get("format") != FORMAT or doc.get("format_version") != FORMAT_VERSION:
        raise _fail(source, f"expected format {FORMAT!r} version {FORMAT_VERSION}")
    feats, idf, coef, intercept = _model(doc, source)
    char_range, cap = _features_config(doc, source)
    cal = _mapping(doc.get("calibration"), source, "calibration")
    model_ab = _numbers(cal.get("model"), source, "calibration.model", 2)
    combined = _numbers(cal.get("combined"), source, "calibration.combined", 3)
    default = _number(cal.get("default_threshold"), source, "calibration.default_threshold")
    return ParsedWeights(
        features=feats,
        idf=idf,
        coef=coef,
        intercept=intercept,
        char_range=char_range,
        max_model_chars=cap,
        cal_model=(model_ab[0], model_ab[1]),
        cal_combined=(combined[0], combined[1], combined[2]),
        fpr_thresholds=_table(cal.get("fpr_thresholds"), source),
        default_threshold=default,
        metadata={k: v for k, v in doc.items() if k not in _WEIGHT_KEYS},
    )
