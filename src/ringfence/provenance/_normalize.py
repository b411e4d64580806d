"""Normalisation and canonical forms used to match argument values against content.

Matching is deliberately literal: a value is found in content when its canonical form occurs
there. Canonical forms: NFKC + casefold + collapsed whitespace + invisible characters removed for
text; a decimal value for numbers (``1,234.50`` == ``1234.5`` == ``$1 234.50``; in content,
English number words up to 999 too: ``twenty`` == ``20``); upper-case without spaces for IBANs;
lower-case without ``mailto:`` for e-mail addresses; scheme/host lower-cased, default port,
fragment and trailing slash removed for URLs.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from urllib.parse import urlsplit, urlunsplit

_WS = re.compile(r"\s+")
# Unicode "Cf" (format) characters: zero-width, bidi controls, tag characters, soft hyphen.
_CF_RANGES = (
    (0xAD, 0xAD), (0x600, 0x605), (0x61C, 0x61C), (0x6DD, 0x6DD), (0x70F, 0x70F),
    (0x890, 0x891), (0x8E2, 0x8E2), (0x180E, 0x180E), (0x200B, 0x200F), (0x202A, 0x202E),
    (0x2060, 0x2064), (0x2066, 0x206F), (0xFEFF, 0xFEFF), (0xFFF9, 0xFFFB), (0x110BD, 0x110BD),
    (0x110CD, 0x110CD), (0x13430, 0x1343F), (0x1BCA0, 0x1BCA3), (0x1D173, 0x1D17A),
    (0xE0001, 0xE0001), (0xE0020, 0xE007F),
)  # fmt: skip
_INVISIBLE: dict[int, None] = {cp: None for lo, hi in _CF_RANGES for cp in range(lo, hi + 1)}

# A number as people write it: 1234, 1,234.50, 1.234,50, 1 234, -3.5, .5
_NUMBER = re.compile(
    r"(?<![\w.,])[-+]?"
    r"(?:\d{1,3}(?:[,. \u00a0\u202f]\d{3})+(?:[.,]\d+)?|\d+(?:[.,]\d+)?|[.,]\d+)"
    r"(?![\w])"
)
_EMAIL = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
_URL = re.compile(r"(?:https?://|www\.)[^\s<>\"'`)\]}]+", re.IGNORECASE)
_IBAN_VALUE = re.compile(r"^[A-Z]{2}\d{2}[A-Z0-9]{10,30}$")
_IBAN_TOKEN = re.compile(
    r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?:[A-Z0-9]{10,30}|(?: [A-Z0-9]{4}){2,7}(?: [A-Z0-9]{1,4})?)"
    r"(?![A-Za-z0-9])"
)
_URL_TRAIL = ".,;:!?"
_QUOTES = "'`"


def clean_text(text: str) -> str:
    """NFKC with invisible (format) characters removed; case and spacing kept."""
    return unicodedata.normalize("NFKC", text).translate(_INVISIBLE)


def normalize_text(text: str) -> str:
    """NFKC, casefold, invisible (format) characters removed, whitespace collapsed."""
    return _WS.sub(" ", clean_text(text).casefold()).strip()


def canonical_number(value: object) -> str | None:
    """A canonical decimal string for an int/float/Decimal or a numeric string, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return value.lstrip("0") or "0"
    if isinstance(value, int | float | Decimal):
        try:
            dec = Decimal(str(value))
        except InvalidOperation:
            return None
        return _dec_str(dec)
    if isinstance(value, str):
        forms = number_forms(value.strip().lstrip("$€£¥").strip())
        return forms[0] if len(forms) == 1 else None
    return None


def _dec_str(dec: Decimal) -> str | None:
    if not dec.is_finite():
        return None
    dec = dec.normalize()
    return "0" if dec == 0 else format(dec, "f")


def number_forms(token: str) -> list[str]:
    """Every plausible reading of a written number (``1,234`` is 1234 or 1.234)."""
    token = token.replace("\u00a0", " ").replace("\u202f", " ")
    if not token or not any(ch.isdigit() for ch in token):
        return []
    readings: list[str] = []
    for cand in _number_readings(token):
        try:
            text = _dec_str(Decimal(cand))
        except InvalidOperation:
            continue
        if text is not None and text not in readings:
            readings.append(text)
    return readings


def _number_readings(token: str) -> list[str]:
    compact = token.replace(" ", "")
    if "," in compact and "." in compact:
        # whichever separator comes last is the decimal point
        if compact.rfind(",") > compact.rfind("."):
            return [compact.replace(".", "").replace(",", ".")]
        return [compact.replace(",", "")]
    if "," in compact:
        groups = compact.split(",")
        as_thousands = compact.replace(",", "")
        if len(groups) == 2 and len(groups[1]) != 3:
            return [compact.replace(",", ".")]
        if len(groups) == 2:
            return [as_thousands, compact.replace(",", ".")]
        return [as_thousands]
    if compact.count(".") > 1:
        return [compact.replace(".", "")]
    if "." in compact and " " in token:
        return [compact]
    if (
        "." in compact
        and len(compact.split(".")[1]) == 3
        and compact.split(".")[0] not in ("", "-")
    ):
        return [compact, compact.replace(".", "")]
    return [compact]


def numbers_in(text: str) -> set[str]:
    """Canonical forms of every number written in ``text``, in digits or in English words."""
    out: set[str] = set()
    for match in _NUMBER.finditer(text):
        out.update(number_forms(match.group(0)))
    out.update(str(n) for n in word_numbers(text))
    return out


_UNITS = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
    "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen",
)  # fmt: skip
_TENS = ("twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_WORD_VALUE = {w: i for i, w in enumerate(_UNITS)} | {w: 20 + 10 * i for i, w in enumerate(_TENS)}
_NUMBER_WORD = "(?:" + "|".join(sorted((*_WORD_VALUE, "hundred"), key=len, reverse=True)) + ")"
# A run of number words joined by spaces or hyphens ("and" allowed after "hundred"), whole words
# (not glued to letters, digits or hyphens: "ten-year" is an adjective). The look-ahead on the
# first letters skips most positions before the alternation is tried.
_WORD_RUN = re.compile(
    rf"(?<![\w-])(?=[efhnostz]){_NUMBER_WORD}(?:[ \t-]+(?:and[ \t]+)?{_NUMBER_WORD})*(?![\w-])",
    re.IGNORECASE,
)


def word_numbers(text: str) -> list[int]:
    """The numbers written as English words in ``text`` (``twenty`` 20, ``twenty-five`` 25,
    ``one hundred and five`` 105), from zero to 999. Literal: no ordinals, fractions, other
    languages, "a hundred" or "a dozen". A run that is not one number (``one two``) gives each."""
    out: list[int] = []
    for match in _WORD_RUN.finditer(text):
        words = [w for w in re.split(r"[ \t-]+", match.group(0).casefold()) if w != "and"]
        out.extend(_read_words(words))
    return out


def _read_words(words: list[str]) -> list[int]:
    out: list[int] = []
    i = 0
    while i < len(words):
        value, i = _read_number(words, i)
        if value is not None:
            out.append(value)
    return out


def _read_number(words: list[str], i: int) -> tuple[int | None, int]:
    """The number starting at ``words[i]`` and the index after it."""
    word = words[i]
    if word == "hundred":
        return None, i + 1
    value, i = _WORD_VALUE[word], i + 1
    nxt = words[i] if i < len(words) else ""
    if 1 <= value <= 9 and nxt == "hundred":
        value, i = value * 100, i + 1
        rest, j = _read_under_hundred(words, i)
        return (value + rest, j) if rest is not None else (value, i)
    if value >= 20 and nxt in _WORD_VALUE and 1 <= _WORD_VALUE[nxt] <= 9:
        return value + _WORD_VALUE[nxt], i + 1
    return value, i


def _read_under_hundred(words: list[str], i: int) -> tuple[int | None, int]:
    word = words[i] if i < len(words) else ""
    if word not in _WORD_VALUE or _WORD_VALUE[word] == 0:
        return None, i
    value, i = _WORD_VALUE[word], i + 1
    nxt = words[i] if i < len(words) else ""
    if value >= 20 and nxt in _WORD_VALUE and 1 <= _WORD_VALUE[nxt] <= 9:
        return value + _WORD_VALUE[nxt], i + 1
    return value, i


def canonical_email(value: str) -> str | None:
    """Lower-cased address without ``mailto:``, if ``value`` is exactly one e-mail address."""
    if "@" not in value:
        return None
    text = value.strip().strip(_QUOTES)
    if text.lower().startswith("mailto:"):
        text = text[7:]
    match = _EMAIL.fullmatch(text)
    return match.group(0).casefold() if match else None


def emails_in(text: str) -> set[str]:
    # quotes are legal in the local part but in prose they quote the address: 'bob@x.org'
    return {m.group(0).casefold().rstrip(".").lstrip(_QUOTES) for m in _EMAIL.finditer(text)}


def canonical_url(value: str) -> str | None:
    """Canonical URL: lower-case scheme and host, no default port, fragment or trailing slash."""
    if "://" not in value and "www." not in value[:12].lower():
        return None
    text = value.strip().rstrip(_URL_TRAIL)
    if text.lower().startswith("www."):
        text = "https://" + text
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    host = parts.hostname.casefold()
    if port and (port, parts.scheme.lower()) not in ((80, "http"), (443, "https")):
        host = f"{host}:{port}"
    path = parts.path.rstrip("/")
    # http and https are one origin for matching purposes; the scheme is not an attacker lever here
    return urlunsplit(("https", host, path, parts.query, ""))


def urls_in(text: str) -> set[str]:
    out: set[str] = set()
    for match in _URL.finditer(text):
        canon = canonical_url(match.group(0))
        if canon:
            out.add(canon)
    return out


def canonical_iban(value: str) -> str | None:
    """Upper-case IBAN without spaces, if ``value`` has the shape of one."""
    if len(value) < 14 or not value[:2].isalpha():
        return None
    compact = re.sub(r"[\s-]", "", value).upper()
    return compact if _IBAN_VALUE.match(compact) else None


@functools.lru_cache(maxsize=1024)
def iban_pattern(iban: str) -> re.Pattern[str]:
    """Finds a canonical IBAN in text however it is grouped: ``GB33 BUKB 2020 ...`` or compact,
    with single spaces or hyphens between any characters, not glued to other letters/digits."""
    body = "[ -]?".join(re.escape(ch) for ch in iban)
    return re.compile(rf"(?<![A-Za-z0-9]){body}(?![A-Za-z0-9])", re.IGNORECASE)


def destinations_in(
    text: str, kinds: Iterable[str] = ("url", "email", "iban")
) -> list[tuple[str, str]]:
    """URLs, e-mail addresses and IBANs written in ``text``, as ``(kind, token)`` in order of
    appearance (each distinct token once; an address inside a URL counts as the URL only)."""
    wanted = set(kinds)
    found: list[tuple[int, str, str]] = []
    taken: list[tuple[int, int]] = []
    for kind, pattern in (("url", _URL), ("email", _EMAIL), ("iban", _IBAN_TOKEN)):
        for match in pattern.finditer(text):
            start, end = match.span()
            if any(a <= start < b for a, b in taken):
                continue
            taken.append((start, end))
            token = match.group(0).rstrip(_URL_TRAIL) if kind != "iban" else match.group(0)
            if kind in wanted and (kind != "iban" or canonical_iban(token)):
                found.append((start, kind, token))
    seen: set[tuple[str, str]] = set()
    out: list[tuple[str, str]] = []
    for _, kind, token in sorted(found):
        if (kind, token) not in seen:
            seen.add((kind, token))
            out.append((kind, token))
    return out
