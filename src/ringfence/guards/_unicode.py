"""Unicode at the input boundary: invisible, bidi-control and tag characters, variation-selector
smuggling, homoglyph (mixed-script) words, styled letters; and an idempotent normalisation.

Care for false positives: ASCII text is skipped at once; a BOM at the start, LRM/RLM marks,
zero-width joiners inside emoji or non-Latin scripts, emoji variation selectors, flag tag
sequences and bidi isolates in right-to-left text are normal and score low or nothing.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Sequence
from functools import lru_cache
from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from ringfence.guards._registry import guard
from ringfence.guards._types import Action, Finding
from ringfence.provenance import Label

_TAGS = "\U000e0000-\U000e007f"
_BIDI_OVERRIDE = "\u202d\u202e"
_BIDI_OTHER = "\u202a\u202b\u202c\u2066-\u2069"
_MARKS = "\u200e\u200f\u061c"
_JOINERS = "\u200c\u200d"
_INVISIBLE = (
    "\u00ad\u034f\u115f\u1160\u17b4\u17b5\u180e\u200b\u2060-\u2064\u206a-\u206f\u3164\ufeff"
    "\uffa0\U0001d173-\U0001d17a"
)
_VS = "\ufe00-\ufe0f\u180b-\u180d\u180f"
_VS_SUPP = "\U000e0100-\U000e01ef"

_REMOVABLE = re.compile(
    f"[{_TAGS}{_BIDI_OVERRIDE}{_BIDI_OTHER}{_MARKS}{_JOINERS}{_INVISIBLE}{_VS}{_VS_SUPP}]"
)
_TAG_RUN = re.compile(f"[{_TAGS}]+")
_BIDI_RUN = re.compile(f"[{_BIDI_OVERRIDE}{_BIDI_OTHER}]")
_HIDDEN_RUN = re.compile(f"[{_INVISIBLE}{_JOINERS}]+")
_VS_RUN = re.compile(f"[{_VS}{_VS_SUPP}]+")
_RTL = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufeff]")
_NON_ASCII_WORD = re.compile(r"\w*[^\x00-\x7f]\w*")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_LOOKALIKE_CLASS = "\u0370-\u03ff\u1f00-\u1fff\u0400-\u052f\u0530-\u058f\u13a0-\u13ff\uab70-\uabbf"
_LOOKALIKE_CHAR = re.compile(f"[{_LOOKALIKE_CLASS}]")
_LOOKALIKE_WORD = re.compile(f"\\w*[{_LOOKALIKE_CLASS}]\\w*")
_STYLED = re.compile("[\uff01-\uff5e\U0001d400-\U0001d7ff\u2460-\u24ff\U0001f130-\U0001f189]")
_FLAG_TAGS = re.compile("\U0001f3f4[\U000e0061-\U000e007a]{2,7}\U000e007f")
_LOOKALIKE_SCRIPTS = frozenset({"CYRILLIC", "GREEK", "ARMENIAN", "CHEROKEE"})
# Cyrillic / Greek letters drawn like Latin ones (a subset of Unicode's confusables).
_LATIN_LOOKALIKES = str.maketrans(
    "аеорсухіјѕԁԛԝАВЕКМНОРСТХІЈЅαοτνκιΑΒΕΖΗΙΚΜΝΟΡΤΥΧ",
    "aeopcyxijsdqwABEKMHOPCTXIJSaotvkiABEZHIKMNOPTYX",
)
_MAX_SPANS = 10
_JOINER_SET = frozenset(_JOINERS)


@lru_cache(maxsize=4096)
def _script(ch: str) -> str:
    if not ch.isalpha():
        return ""
    return unicodedata.name(ch, "").split(" ", 1)[0]


def normalize_unicode(text: str) -> str:
    """Remove invisible, bidi-control, tag and variation-selector characters, apply NFKC, and
    spell mixed-script words with their Latin look-alikes. Idempotent."""
    out = text
    for _ in range(4):
        step = _fold_mixed(unicodedata.normalize("NFKC", _REMOVABLE.sub("", out)))
        if step == out:
            break
        out = step
    return out


def _fold_mixed(text: str) -> str:
    if text.isascii():
        return text
    return _NON_ASCII_WORD.sub(lambda m: _fold_word(m.group()), text)


def _fold_word(word: str) -> str:
    scripts = {_script(c) for c in word} - {""}
    if "LATIN" in scripts and scripts & _LOOKALIKE_SCRIPTS:
        return word.translate(_LATIN_LOOKALIKES)
    return word


def decode_tags(run: str) -> str:
    """The ASCII text hidden in a run of Unicode tag characters (the "ASCII smuggler")."""
    return "".join(chr(ord(c) - 0xE0000) for c in run if 0xE0020 <= ord(c) <= 0xE007E)


def _findings(
    name: str, kind: str, score: float, spans: list[tuple[int, int]], msg: str
) -> Iterator[Finding]:
    if len(spans) > _MAX_SPANS:
        yield Finding(name, kind, score, None, f"{msg} ({len(spans)} places)")
        return
    for span in spans:
        yield Finding(name, kind, score, span, msg)


@guard(name="unicode")
class UnicodeGuard:
    """Finds characters that hide or disguise text; ``rewrite`` is :func:`normalize_unicode`."""

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")
        confusables: bool = True
        """Also look for mixed-script (homoglyph) words and styled letters."""

    default_action: ClassVar[Action] = "flag"
    inline: bool = True  # bounded CPU work, no I/O: may run in the calling thread
    pure: bool = True  # findings depend only on the text
    threshold: float = 0.5

    def __init__(self, confusables: bool = True) -> None:
        self.name = "unicode"
        self.confusables = confusables

    def check(self, text: str, label: Label) -> Sequence[Finding]:
        if text.isascii():
            return []
        present = {_category(c) for c in set(_NON_ASCII.findall(text))}
        out: list[Finding] = []
        for category, scan in (
            ("tag", self._tags),
            ("bidi", self._bidi),
            ("hidden", self._hidden),
            ("selector", self._selectors),
        ):
            if category in present:
                out.extend(scan(text))
        if self.confusables and "lookalike" in present:
            out.extend(self._mixed(text))
        if self.confusables and "styled" in present:
            out.extend(self._styled(text))
        return out

    def rewrite(self, text: str) -> str:
        return normalize_unicode(text)

    def _tags(self, text: str) -> Iterator[Finding]:
        flags = {m.start() + 1 for m in _FLAG_TAGS.finditer(text)}
        spans, hidden = [], []
        for m in _TAG_RUN.finditer(text):
            if m.start() in flags:
                continue  # a subdivision flag such as England's
            spans.append(m.span())
            hidden.append(decode_tags(m.group()))
        preview = repr("".join(hidden)[:80])
        yield from _findings(
            self.name, "unicode.tag", 1.0, spans, f"invisible tag characters hide text: {preview}"
        )

    def _bidi(self, text: str) -> Iterator[Finding]:
        hits = [m.start() for m in _BIDI_RUN.finditer(text)]
        if not hits:
            return
        overrides = any(text[i] in _BIDI_OVERRIDE for i in hits)
        opens = sum(text[i] in "\u202a\u202b\u202d\u202e\u2066\u2067\u2068" for i in hits)
        balanced = 2 * opens == len(hits)
        rtl = _RTL.search(text) is not None
        score = 0.9 if overrides else 0.2 if (rtl and balanced) else 0.7
        spans = [(i, i + 1) for i in hits]
        yield from _findings(
            self.name,
            "unicode.bidi",
            score,
            spans,
            "bidirectional control characters can reorder what is shown",
        )

    def _hidden(self, text: str) -> Iterator[Finding]:
        spans: list[tuple[int, int]] = []
        weight = 0.0
        for m in _HIDDEN_RUN.finditer(text):
            start, end = m.span()
            run = m.group()
            if start == 0 and run == "\ufeff":
                continue  # a byte-order mark
            before = text[start - 1] if start else " "
            after = text[end] if end < len(text) else " "
            if set(run) <= _JOINER_SET and not (before.isascii() and after.isascii()):
                continue  # joiners inside emoji sequences or non-Latin scripts
            weight += _run_weight(run, before.isalnum() and after.isalnum())
            spans.append((start, end))
        if spans:
            score = 0.9 if weight >= 3 else 0.7 if weight >= 1 else 0.3
            yield from _findings(
                self.name, "unicode.invisible", score, spans, "invisible characters inside the text"
            )

    def _selectors(self, text: str) -> Iterator[Finding]:
        spans = []
        for m in _VS_RUN.finditer(text):
            start = m.start()
            base = text[start - 1] if start else ""
            supplementary = any(ord(c) > 0xFFFF for c in m.group())
            if not supplementary and len(m.group()) == 1 and base and not base.isascii():
                continue  # an emoji / CJK variation selector
            if len(m.group()) == 1 and not supplementary:
                continue
            spans.append(m.span())
        yield from _findings(
            self.name,
            "unicode.variation_selector",
            0.9,
            spans,
            "a run of variation selectors can smuggle hidden data",
        )

    def _mixed(self, text: str) -> Iterator[Finding]:
        mixed, confusable = [], []
        latin_text = _mostly_latin(text)
        for m in _LOOKALIKE_WORD.finditer(text):
            scripts = {_script(c) for c in m.group()} - {""}
            if "LATIN" in scripts:
                mixed.append(m.span())
            elif latin_text and scripts <= _LOOKALIKE_SCRIPTS and _all_lookalike(m.group()):
                confusable.append(m.span())
        yield from _findings(
            self.name, "unicode.mixed_script", 0.8, mixed,
            "a word mixes Latin with look-alike letters of another script",
        )  # fmt: skip
        yield from _findings(
            self.name, "unicode.confusable", 0.6, confusable,
            "a word in another script spelled only with Latin look-alikes",
        )  # fmt: skip

    def _styled(self, text: str) -> Iterator[Finding]:
        styled = len(_STYLED.findall(text))
        if styled >= 4:
            yield Finding(
                self.name, "unicode.styled", 0.5, None,
                f"{styled} styled (fullwidth / mathematical) letters",
            )  # fmt: skip


@lru_cache(maxsize=8192)
def _category(ch: str) -> str:
    """What a non-ASCII character can be evidence of (``""``: nothing)."""
    if _TAG_RUN.match(ch):
        return "tag"
    if _BIDI_RUN.match(ch):
        return "bidi"
    if _HIDDEN_RUN.match(ch):
        return "hidden"
    if _VS_RUN.match(ch):
        return "selector"
    if _STYLED.match(ch):
        return "styled"
    return "lookalike" if _script(ch) in _LOOKALIKE_SCRIPTS else ""


def _run_weight(run: str, in_word: bool) -> float:
    """Soft hyphens are hyphenation hints (weak evidence); other invisibles inside a word are
    strong evidence, between words weaker."""
    return sum(0.2 if c == "\u00ad" else 1.0 if in_word else 0.5 for c in run)


def _mostly_latin(text: str) -> bool:
    """Whether look-alike-script letters are rare in ``text`` (under 10 % of its characters)."""
    return len(_LOOKALIKE_CHAR.findall(text)) < 0.1 * len(text)


def _all_lookalike(word: str) -> bool:
    letters = [c for c in word if c.isalpha()]
    return len(letters) >= 3 and all(c.translate(_LATIN_LOOKALIKES).isascii() for c in letters)
