"""Calendar dates written the ways people write them, in one canonical form (``YYYY-MM-DD``).

A tool call carries a date as ``2024-05-01``; the text it came from says "the 1st of May 2024",
"May 1, 2024", "from January 11th to January 15th 2025" or "the 1st to the 5th of May 2024".
:func:`dates_in` reads those (English month names, ISO and ``YYYY/MM/DD``), so the value-origin
index can tell that a booking date came from the user's message, or from a review.

Limits, on purpose: a date without a year takes the year written right after it (within the
same phrase, 40 characters) or, failing that, the last year written before it (within 80);
with neither it is not read (no guessing "this year"). Numeric day/month orders other than ISO
(``01/05/2024``: January or May?) are ambiguous and not read. Only pure dates are compared:
a value with a time of day (``2024-05-01 10:00``) matches as text, not as a date.
"""

from __future__ import annotations

import datetime as _dt
import re

_MONTHS = {
    name: i
    for i, names in enumerate(
        (
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sept", "sep"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ),
        start=1,
    )
    for name in names
}
_MONTH = r"(?P<{}>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_DAY = r"(?:the\s+)?(?P<{}>[0-3]?\d)(?:st|nd|rd|th)?"
_TO = r"\s*(?:-|–|—|to|until|till|through|thru|and)\s*"
_YEAR = r"(?:,?\s*(?P<year>(?:19|20)\d\d))?"

_ISO = re.compile(r"(?<![\d-])(?P<y>\d{4})[-/](?P<m>[01]?\d)[-/](?P<d>[0-3]?\d)(?![\d-])")
# "the 1st to the 5th of May 2024", "11 - 15 January 2025"
_DAY_RANGE_MONTH = re.compile(
    r"\b"
    + _DAY.format("d1")
    + _TO
    + _DAY.format("d2")
    + r"(?:\s+of)?\s+"
    + _MONTH.format("m")
    + r"\b"
    + _YEAR,
    re.IGNORECASE,
)
# "May 1-5, 2024", "May 1st to 5th 2024"
_MONTH_DAY_RANGE = re.compile(
    r"\b"
    + _MONTH.format("m")
    + r"\s+"
    + _DAY.format("d1")
    + _TO
    + _DAY.format("d2")
    + r"\b"
    + _YEAR,
    re.IGNORECASE,
)
# "1st of May 2024", "1 May"
_DAY_MONTH = re.compile(
    r"\b" + _DAY.format("d1") + r"(?:\s+of)?\s+" + _MONTH.format("m") + r"\b" + _YEAR,
    re.IGNORECASE,
)
# "May 1st, 2024", "January 11th"
_MONTH_DAY = re.compile(
    r"\b" + _MONTH.format("m") + r"\s+" + _DAY.format("d1") + r"\b" + _YEAR, re.IGNORECASE
)
_YEAR_TOKEN = re.compile(r"\b(?:19|20)\d\d\b")
_ISO_HINT = re.compile(r"\d{4}[-/]\d")
_MONTH_STEMS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_YEAR_AFTER, _YEAR_BEFORE = 40, 80


def canonical_date(value: str) -> str | None:
    """``YYYY-MM-DD`` for a value that is exactly one date (ISO or ``YYYY/MM/DD``), else None."""
    match = _ISO.fullmatch(value.strip())
    if match is None:
        return None
    return _iso(int(match["y"]), int(match["m"]), int(match["d"]))


def dates_in(text: str) -> set[str]:
    """Every date :mod:`this module <ringfence.provenance._dates>` can read in ``text``."""
    found: set[str] = set()
    if ("-" in text or "/" in text) and _ISO_HINT.search(text):
        for m in _ISO.finditer(text):
            if (iso := _iso(int(m["y"]), int(m["m"]), int(m["d"]))) is not None:
                found.add(iso)
    # every written date has a month name and a year: most texts have neither, and skip the rest
    if _YEAR_TOKEN.search(text) and _has_month_stem(text):
        for pattern in (_DAY_RANGE_MONTH, _MONTH_DAY_RANGE, _DAY_MONTH, _MONTH_DAY):
            for m in pattern.finditer(text):
                found.update(_read(text, m))
    return found


def _has_month_stem(text: str) -> bool:
    """A cheap filter (substring tests): could ``text`` name a month at all?"""
    folded = text.casefold()
    return any(stem in folded for stem in _MONTH_STEMS)


def _read(text: str, match: re.Match[str]) -> list[str]:
    year = int(match["year"]) if match["year"] else _nearby_year(text, match.start(), match.end())
    if year is None:
        return []
    month = _MONTHS[match["m"].casefold()]
    days = [match["d1"]] + ([match["d2"]] if "d2" in match.re.groupindex else [])
    return [iso for day in days if (iso := _iso(year, month, int(day))) is not None]


def _nearby_year(text: str, start: int, end: int) -> int | None:
    after = _YEAR_TOKEN.search(text, end, min(len(text), end + _YEAR_AFTER))
    if after is not None:
        return int(after.group())
    before = list(_YEAR_TOKEN.finditer(text, max(0, start - _YEAR_BEFORE), start))
    return int(before[-1].group()) if before else None


def _iso(year: int, month: int, day: int) -> str | None:
    try:
        return _dt.date(year, month, day).isoformat()
    except ValueError:
        return None
