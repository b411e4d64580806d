"""Text handling shared by the injection detector's training script and its run time.

Everything here is deterministic and pure Python, so that the training pipeline (which
hands :func:`analyze` to scikit-learn as its analyzer) and the run-time scorer see exactly
the same features.

* :func:`normalize` folds the cheap obfuscations seen in the corpora: NFKC (full-width
  letters), zero-width characters, common Greek/Cyrillic look-alikes, case.
* :func:`analyze` returns word unigrams (``w:``), word bigrams (``b:``) and character
  n-grams taken inside each token padded with one space (``c:``, like scikit-learn's
  ``char_wb``; from the token's first :data:`MAX_GRAM_CHARS` characters). Tokens are runs
  of word characters or runs of punctuation, so delimiter tricks (``[``, ``<|``, ``###``)
  are features too.
* :func:`segments` cuts a text into scoring segments for ``spans()``: lines, and sentences
  of long lines, merged greedily within a paragraph (never across a blank line) up to
  :data:`SEGMENT_CHARS` characters, as offsets into the original text.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise
from typing import Final

SEGMENT_CHARS: Final = 320
"""Lines / sentences are merged into segments of at most this many characters; a single
sentence longer than this is its own segment, and one longer than twice this is cut."""

MAX_GRAM_CHARS: Final = 32
"""Character n-grams come from a token's first 32 characters only: a long token (a base64
blob, a URL) costs bounded work, and its full form still counts as a word unigram."""

_PREFIX: Final = "c:"
_ZERO_WIDTH: Final = dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u200e\u200f\u2060\ufeff"))
_CONFUSABLES: Final = {
    # Greek
    "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v", "ο": "o",
    "ρ": "p", "τ": "t", "υ": "u", "χ": "x", "ω": "w",
    # Cyrillic
    "а": "a", "в": "b", "е": "e", "ё": "e", "і": "i", "ј": "j", "к": "k", "м": "m",
    "н": "h", "о": "o", "р": "p", "с": "c", "т": "t", "у": "y", "х": "x", "ѕ": "s",
    "ԁ": "d", "ԛ": "q", "ԝ": "w", "ү": "y",
}  # fmt: skip
_FOLD: Final = {**_ZERO_WIDTH, **{ord(k): v for k, v in _CONFUSABLES.items()}}

_TOKEN: Final = re.compile(r"\w+|[^\w\s]+")
_LINE: Final = re.compile(r"[^\n]+")
_SENTENCE_END: Final = re.compile(r"[.!?][\"')\]]*\s+")


def normalize(text: str) -> str:
    """Fold width, case, zero-width characters and common look-alike letters."""
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text).translate(_FOLD)
    return text.lower()


def subtokens(chunk: str) -> list[str]:
    """Tokens of one whitespace-free chunk of normalised text."""
    return _TOKEN.findall(chunk)


@lru_cache(maxsize=512)
def _windows(size: int, n: int) -> tuple[slice, ...]:
    return tuple(slice(i, i + n) for i in range(size - n + 1))


def char_grams(token: str, char_min: int, char_max: int) -> list[str]:
    """``c:`` features of one token: n-grams of `` token `` (first MAX_GRAM_CHARS chars)."""
    padded = f" {token[:MAX_GRAM_CHARS]} "
    size = len(padded)
    grams: list[str] = []
    for n in range(char_min, char_max + 1):
        grams.extend(map(_PREFIX.__add__, map(padded.__getitem__, _windows(size, n))))
    return grams


def analyze(text: str, char_min: int = 3, char_max: int = 5) -> list[str]:
    """Feature strings of one text, with repeats (the model counts them)."""
    tokens = _TOKEN.findall(normalize(text))
    feats = ["w:" + t for t in tokens]
    feats.extend([f"b:{a} {b}" for a, b in pairwise(tokens)])
    for tok in tokens:
        feats.extend(char_grams(tok, char_min, char_max))
    return feats


@dataclass(frozen=True)
class Segment:
    """A slice ``text[start:end]`` of the original text."""

    start: int
    end: int


def _pieces(text: str) -> list[tuple[int, int, int]]:
    """(start, end, paragraph) of lines, and of sentences within long lines, trimmed.

    Paragraphs are separated by blank lines; pieces are never merged across them.
    """
    out: list[tuple[int, int, int]] = []
    para = 0
    prev_end = 0
    for line in _LINE.finditer(text):
        start, end = line.span()
        if text.count("\n", prev_end, start) > 1 or not text[start:end].strip():
            para += 1
        prev_end = end
        if end - start <= SEGMENT_CHARS:
            out.append((start, end, para))
            continue
        pos = start
        for stop in _SENTENCE_END.finditer(text, start, end):
            out.extend((s, e, para) for s, e in _bounded(pos, stop.end()))
            pos = stop.end()
        out.extend((s, e, para) for s, e in _bounded(pos, end))
    trimmed = ((*_strip(text, s, e), p) for s, e, p in out)
    return [(s, e, p) for s, e, p in trimmed if e > s]


def _bounded(start: int, end: int) -> list[tuple[int, int]]:
    limit = 2 * SEGMENT_CHARS
    return [(s, min(s + limit, end)) for s in range(start, end, limit)]


def _strip(text: str, start: int, end: int) -> tuple[int, int]:
    piece = text[start:end]
    lead = len(piece) - len(piece.lstrip())
    return start + lead, start + len(piece.rstrip())


def segments(text: str) -> list[Segment]:
    """Consecutive pieces of one paragraph merged greedily up to SEGMENT_CHARS characters."""
    out: list[Segment] = []
    cur_start = cur_end = cur_para = -1
    for start, end, para in _pieces(text):
        if para == cur_para and end - cur_start <= SEGMENT_CHARS:
            cur_end = end
            continue
        if cur_start >= 0:
            out.append(Segment(cur_start, cur_end))
        cur_start, cur_end, cur_para = start, end, para
    if cur_start >= 0:
        out.append(Segment(cur_start, cur_end))
    return out
