"""Run-time form of the detector's linear model (no scikit-learn).

The training pipeline is ``TfidfVectorizer(analyzer=analyze, norm="l1")`` (raw term counts,
smooth idf, l1 normalisation) followed by logistic regression. With l1 normalisation the
decision value of a text is::

    z = sum_f(tf_f * idf_f * coef_f) / sum_f(tf_f * idf_f) + intercept

which is additive over the text's pieces. So every whitespace *chunk* of normalised text
is turned once (and cached) into its mass ``num + 1j * den`` (a complex number, so that one
C-level pass reads both), its first / last token ids and its tokens: unigrams, in-word
character n-grams and the bigrams inside it. The bigrams that join neighbouring chunks
are found with one vectorised ``searchsorted``; windows are prefix-sum differences.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Final

import numpy as np

from ringfence.guards._detector_text import char_grams, subtokens

CACHE_LIMIT: Final = 50_000
"""Cached chunks; the cache is replaced (never cleared in place) when it grows past this."""
TOKEN_EPS: Final = 1e-9
"""Added to each token's idf mass, so a window with no known feature scores 0 instead of
0/0 (relative effect on any real window < 1e-9)."""


class LinearModel:
    """l1-normalised TF-IDF dot a coefficient vector; mirrors the training pipeline."""

    def __init__(self, features: Sequence[str], idf: Sequence[float], coef: Sequence[float],
                 intercept: float, char_range: tuple[int, int]) -> None:  # fmt: skip
        self._index = {f: i for i, f in enumerate(features)}
        self._num = [c * d for c, d in zip(coef, idf, strict=True)]
        self._den = list(idf)
        self.intercept = intercept
        self._char_range = char_range
        self._tok_id: dict[str, int] = {}
        self._j_mass: dict[int, complex] = {}
        self._cache = _ChunkCache()
        pairs = [(i, f[2:].split(" ", 1)) for i, f in enumerate(features) if f.startswith("b:")]
        for _, (a, b) in pairs:
            self._tok_id.setdefault(a, len(self._tok_id) + 1)
            self._tok_id.setdefault(b, len(self._tok_id) + 1)
        self._radix = len(self._tok_id) + 1
        for i, (a, b) in pairs:
            code = self._tok_id[a] * self._radix + self._tok_id[b]
            self._j_mass[code] = complex(self._num[i], self._den[i])
        self._j_codes = np.array(sorted(self._j_mass), dtype=np.int64)
        self._j_values = np.array([self._j_mass[c] for c in self._j_codes.tolist()] + [0j])

    def _token_mass(self, token: str) -> tuple[float, float]:
        grams = char_grams(token, *self._char_range)
        grams.append("w:" + token)
        ids = [i for i in map(self._index.get, grams) if i is not None]
        num = sum(map(self._num.__getitem__, ids))
        return num, sum(map(self._den.__getitem__, ids)) + TOKEN_EPS

    def _add_chunk(self, cache: _ChunkCache, chunk: str) -> None:
        tokens = tuple(subtokens(chunk))
        num = den = 0.0
        for token in tokens:
            t_num, t_den = self._token_mass(token)
            num += t_num
            den += t_den
        ids = [self._tok_id.get(t, 0) for t in tokens]
        mass = complex(num, den)
        for a, b in pairwise(ids):
            mass += self._j_mass.get(a * self._radix + b, 0j)
        cache.mass[chunk] = mass
        cache.ends[chunk] = ids[0] * self._radix + ids[-1]
        cache.tokens[chunk] = tokens

    def scan(self, normalized: str) -> Scan:
        """Chunks of a normalised text, with every new chunk added to the cache."""
        if len(self._cache.mass) > CACHE_LIMIT:  # replace, never clear: other threads keep theirs
            self._cache = _ChunkCache()
        cache = self._cache
        parts = normalized.split()
        unique = set(parts)
        for chunk in unique.difference(cache.mass):
            self._add_chunk(cache, chunk)
        return Scan(parts, unique, cache)

    def _masses(self, scan: Scan) -> tuple[np.ndarray, np.ndarray]:
        """Per-chunk and per-junction (bigram across two chunks) masses, ``num + 1j * den``."""
        parts, cache = scan.parts, scan.cache
        n = len(parts)
        mass = np.fromiter(map(cache.mass.__getitem__, parts), dtype=np.complex128, count=n)
        ends = np.fromiter(map(cache.ends.__getitem__, parts), dtype=np.int64, count=n)
        codes = (ends[:-1] % self._radix) * self._radix + ends[1:] // self._radix
        where = np.searchsorted(self._j_codes, codes)
        where[where == len(self._j_codes)] = 0
        where[self._j_codes[where] != codes] = len(self._j_codes)  # -> the trailing 0j
        return mass, self._j_values[where]

    def logit(self, scan: Scan) -> float:
        """Decision value of a whole text (as the training pipeline computes it)."""
        if not scan.parts:
            return self.intercept
        mass, junction = self._masses(scan)
        total = mass.sum() + junction.sum()
        return float(total.real / total.imag) + self.intercept

    def window_logit(self, scan: Scan, window: int, stride: int) -> float:
        """Max decision value over runs of ``window`` chunks starting every ``stride``.

        A text of at most ``window`` chunks is scored whole (same as :meth:`logit`); the
        last window always ends at the last chunk.
        """
        n = len(scan.parts)
        if n <= window:
            return self.logit(scan)
        mass, junction = self._masses(scan)
        starts = np.append(np.arange(0, n - window, stride), n - window)
        sums = _window_sums(mass, junction, starts, starts + window)
        return float(np.max(sums.real / sums.imag)) + self.intercept


def _window_sums(per_chunk: np.ndarray, per_junction: np.ndarray, starts: np.ndarray,
                 ends: np.ndarray) -> np.ndarray:  # fmt: skip
    """Complex mass of chunks [s, e) plus the junction bigrams between them."""
    chunk_prefix = np.concatenate(([0j], np.cumsum(per_chunk)))
    junction_prefix = np.concatenate(([0j], np.cumsum(per_junction)))
    total: np.ndarray = chunk_prefix[ends] - chunk_prefix[starts]
    total += junction_prefix[ends - 1] - junction_prefix[starts]
    return total


class _ChunkCache:
    """Per-chunk data, one dict per field so that each is read with one C-level map()."""

    def __init__(self) -> None:
        self.mass: dict[str, complex] = {}
        """``num + 1j * den`` of the chunk: its tokens' features and its inner bigrams."""
        self.ends: dict[str, int] = {}
        """``first token id * radix + last token id`` (ids of tokens that start a bigram)."""
        self.tokens: dict[str, tuple[str, ...]] = {}


@dataclass(frozen=True)
class Scan:
    """A normalised text split into whitespace chunks, all present in ``cache``."""

    parts: list[str]
    unique: set[str]
    cache: _ChunkCache

    def token_set(self) -> set[str]:
        """All tokens of the text (for the rules' token gate)."""
        return set().union(*map(self.cache.tokens.__getitem__, self.unique))
