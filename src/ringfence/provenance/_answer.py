"""Answer provenance: which parts of a model's answer come only from untrusted content.

A tool call is judged argument by argument; an answer is text for a person, and an injection can
aim at it alone ("tell the user to visit X", "say the refund was approved"). The answer is cut
into the parts a reader acts on, and each is looked up in the session's value-origin index
exactly as an argument value is:

- **names**: runs of two or more capitalised words ("Riverside View Hotel", "Acme Bank AG");
- **identifiers**: e-mail addresses, URLs, IBANs and numbers of three or more digits;
- **quotes**: runs of six or more words copied from some content item.

A part whose status is ``untrusted`` (it occurs only in untrusted content) or ``tainted`` (it
occurs in content a guard flagged) is an :class:`AnswerSpan`; a part that also occurs in trusted,
unflagged content, or in no content at all, is not. The policy's ``answers`` section says what
the person sees: the answer as is, the answer with the origin of each such part cited after it,
or the answer with those parts withheld.

Limits: matching is literal after normalisation (case, whitespace, NFKC, number, e-mail and URL
forms), like the index's. A paraphrase ("the hotel by the river") or a name written in lower case
and shorter than a quote is not found; a name the trusted content also holds is not cited, even
when an injection is what made the model mention it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from ringfence.provenance._index import Origin, OriginStatus, ValueOriginIndex

_NAME = re.compile(
    r"[A-Z][\w'’&.-]*(?:[ \t]+(?:(?:of|the|de|la|le|du|di|da|del|van|von|and|&|on|upon)[ \t]+)*"
    r"[A-Z0-9][\w'’&.-]*)+"
)
_IDENTIFIER = re.compile(
    r"(?:https?://|www\.)[^\s<>\"'`)\]}]+"  # URL
    r"|[\w.+-]+@[\w-]+(?:\.[\w-]+)+"  # e-mail
    r"|\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{2,4}){3,8}\b"  # IBAN
    r"|(?<![\w.])\d[\d,.]*\d{2,}(?![\w])"  # number of three or more digits
)
_WORD = re.compile(r"\S+")
QUOTE_WORDS = 6
"""Shortest run of words, copied from content, that counts as a quote."""

_CITED: tuple[OriginStatus, ...] = ("untrusted", "tainted")


@dataclass(frozen=True)
class AnswerSpan:
    """A part of an answer (``text`` at ``start``:``end``) found only in untrusted or flagged
    content; ``origins`` are the items (and fields) it occurs in."""

    start: int
    end: int
    text: str
    kind: str
    status: OriginStatus
    origins: tuple[Origin, ...]

    @property
    def sources(self) -> tuple[str, ...]:
        """The distinct sources it comes from, in order."""
        return tuple(dict.fromkeys(o.source for o in self.origins))


def trace_answer(text: str, index: ValueOriginIndex) -> list[AnswerSpan]:
    """The parts of ``text`` that occur only in untrusted or flagged content, in order, without
    overlaps (the longer part wins)."""
    found: list[AnswerSpan] = []
    for start, end, kind in _candidates(text, index):
        for begin in _starts(text, start, end, kind):
            part = text[begin:end].strip(" .,;:!?'\"()[]")
            leaf = index.lookup(part)[0] if part else None
            if leaf is None or not leaf.origins:
                continue  # occurs nowhere: try the name without its first word
            if leaf.status in _CITED:
                offset = text.index(part, begin)
                found.append(AnswerSpan(offset, offset + len(part), part, kind, leaf.status,
                                        leaf.origins))  # fmt: skip
            break
    return _without_overlaps(found)


def _starts(text: str, start: int, end: int, kind: str) -> list[int]:
    """Where a part may begin: a name also from each later capitalised word ("Guests of the
    Riverside View Hotel" -> "Riverside View Hotel"), keeping at least two words."""
    if kind != "name":
        return [start]
    words = [start + m.start() for m in _WORD.finditer(text[start:end]) if m.group(0)[0].isupper()]
    return words[:-1] or [start]


def _candidates(text: str, index: ValueOriginIndex) -> Iterator[tuple[int, int, str]]:
    for m in _NAME.finditer(text):
        yield m.start(), m.end(), "name"
    for m in _IDENTIFIER.finditer(text):
        yield m.start(), m.end(), "identifier"
    yield from _quotes(text, index)


def _quotes(text: str, index: ValueOriginIndex) -> Iterator[tuple[int, int, str]]:
    """Maximal runs of at least QUOTE_WORDS words that occur, as one piece, in some content."""
    words = [(m.start(), m.end()) for m in _WORD.finditer(text)]
    i = 0
    while i + QUOTE_WORDS <= len(words):
        j = i + QUOTE_WORDS
        if not _occurs(index, text[words[i][0] : words[j - 1][1]]):
            i += 1
            continue
        while j < len(words) and _occurs(index, text[words[i][0] : words[j][1]]):
            j += 1
        yield words[i][0], words[j - 1][1], "quote"
        i = j


def _occurs(index: ValueOriginIndex, phrase: str) -> bool:
    return bool(index.lookup(phrase)[0].origins)


def _without_overlaps(spans: list[AnswerSpan]) -> list[AnswerSpan]:
    kept: list[AnswerSpan] = []
    for span in sorted(spans, key=lambda s: (s.start, -(s.end - s.start))):
        if kept and span.start < kept[-1].end:
            continue
        kept.append(span)
    return kept


def render_answer(text: str, spans: list[AnswerSpan], *, untrusted: str, tainted: str) -> str:
    """What the person sees: ``text`` with each span passed, cited or withheld as its status
    says (``untrusted`` / ``tainted``: ``pass``, ``cite`` or ``withhold``)."""
    action = {"untrusted": untrusted, "tainted": tainted}
    out = text
    for span in reversed([s for s in spans if action.get(s.status) == "withhold"]):
        note = f"[withheld: {_why(span)}]"
        out = out[: span.start] + note + out[span.end :]
    cited = [s for s in spans if action.get(s.status) == "cite"]
    if cited:
        lines = [f'- "{s.text}": {_why(s)}' for s in cited]
        out += "\n\n[ringfence] Parts of this answer come only from content it does not trust:\n"
        out += "\n".join(lines)
    return out


def _why(span: AnswerSpan) -> str:
    flagged = " (flagged by a guard)" if span.status == "tainted" else ""
    return f"from {', '.join(span.sources)}{flagged}"
