"""Held-out quality of the injection detector.

:func:`evaluate_detector` scores the test splits that training and calibration never see
(S-Labs test, neuralchemy ``core`` test, the yanismiraoui hash-test slice) and the
evaluation-only bastioncorpus, and returns one metrics mapping per split at the detector's
default threshold. ``recall_at_1pct_fpr`` (and ``recall_at_5pct_fpr``) is the recall at
the threshold that gives at most 1 % (5 %) false positives *on that split's own benign
texts*: an ROC operating point, not the default threshold. Needs the corpora packages;
without them it raises :class:`CorporaMissingError` naming the exact ``pip install``
commands.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from ringfence.guards._detector import InjectionDetector
from ringfence.guards._detector_corpora import (
    CorporaMissingError,
    Example,
    load_bastion,
    load_neuralchemy,
    load_slabs,
    load_yanismiraoui,
)

__all__ = ["CorporaMissingError", "evaluate_detector", "metrics_at"]


def _ratio(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def _recall_at_fpr(scores: Sequence[float], labels: Sequence[int], fpr: float) -> float | None:
    benign = sorted((s for s, y in zip(scores, labels, strict=True) if y == 0), reverse=True)
    positives = [s for s, y in zip(scores, labels, strict=True) if y == 1]
    if not benign or not positives:
        return None
    k = math.floor(fpr * len(benign) + 1e-9)
    threshold = -math.inf if k >= len(benign) else math.nextafter(benign[k], math.inf)
    return _ratio(sum(1 for s in positives if s >= threshold), len(positives))


def metrics_at(scores: Sequence[float], labels: Sequence[int], threshold: float) -> dict[str, Any]:
    """n, precision, recall, f1, fpr at ``threshold`` plus recall at 1 % FPR."""
    pred = [s >= threshold for s in scores]
    tp = sum(1 for p, y in zip(pred, labels, strict=True) if p and y == 1)
    fp = sum(1 for p, y in zip(pred, labels, strict=True) if p and y == 0)
    pos = sum(labels)
    precision = _ratio(tp, tp + fp)
    recall = _ratio(tp, pos)
    f1 = None
    if precision is not None and recall is not None and precision + recall > 0:
        f1 = round(2 * precision * recall / (precision + recall), 4)
    return {
        "n": len(labels),
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "fpr": _ratio(fp, len(labels) - pos),
        "recall_at_1pct_fpr": _recall_at_fpr(scores, labels, 0.01),
        "recall_at_5pct_fpr": _recall_at_fpr(scores, labels, 0.05),
        "threshold": round(threshold, 6),
    }


def _scores(detector: InjectionDetector, items: Sequence[Example]) -> list[float]:
    return [detector.score(e.text).score for e in items]


def _split_metrics(detector: InjectionDetector, items: Sequence[Example]) -> dict[str, Any]:
    labels = [e.label for e in items]
    return metrics_at(_scores(detector, items), labels, detector.default_threshold)


def evaluate_detector(detector: InjectionDetector) -> dict[str, Any]:
    """Held-out metrics per split, plus bastioncorpus hard-benign FPR and malicious recall."""
    tests = {
        "slabs": [e for e in load_slabs() if e.split == "test"],
        "neuralchemy": [e for e in load_neuralchemy() if e.split == "test"],
        "yanismiraoui": [e for e in load_yanismiraoui() if e.split == "test"],
    }
    out: dict[str, Any] = {name: _split_metrics(detector, items) for name, items in tests.items()}
    bastion = load_bastion()
    out["bastioncorpus"] = _split_metrics(detector, bastion)
    benign = [e for e in bastion if e.label == 0]
    malicious = [e for e in bastion if e.label == 1]
    threshold = detector.default_threshold
    flagged = sum(1 for s in _scores(detector, benign) if s >= threshold)
    caught = sum(1 for s in _scores(detector, malicious) if s >= threshold)
    out["hard_benign"] = {"n": len(benign), "fpr": _ratio(flagged, len(benign)),
                          "threshold": round(threshold, 6)}  # fmt: skip
    out["bastioncorpus_malicious"] = {"n": len(malicious), "recall": _ratio(caught, len(malicious)),
                                      "threshold": round(threshold, 6)}  # fmt: skip
    return out
