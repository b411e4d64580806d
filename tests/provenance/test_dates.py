"""Dates as people write them, read into ``YYYY-MM-DD``, and matched by the value-origin index."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ringfence.provenance import ContentItem, Label, ValueOriginIndex
from ringfence.provenance._dates import canonical_date, dates_in


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("from the 1st to the 5th of May 2024.", {"2024-05-01", "2024-05-05"}),
        ("from January 11th to January 15th 2025", {"2025-01-11", "2025-01-15"}),
        ("May 1-5, 2024", {"2024-05-01", "2024-05-05"}),
        ("from 11 to 15 January 2025", {"2025-01-11", "2025-01-15"}),
        ("on 2024-05-01 at 10", {"2024-05-01"}),
        ("2024/05/01", {"2024-05-01"}),
        ("Sept. 3rd, 2023", {"2023-09-03"}),
        # the year written before, in the same passage
        ("In 2026 we meet on the 2nd of March", {"2026-03-02"}),
    ],
)
def test_dates_in_reads_common_forms(text: str, expected: set[str]) -> None:
    assert dates_in(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "the 3rd of march",  # no year anywhere: not guessed
        "I may 5 times",
        "April 2024 was great",  # a month, not a day
        "Feb 30 2024",  # not a date
        "01/05/2024",  # day/month order ambiguous: not read
    ],
)
def test_dates_in_does_not_guess(text: str) -> None:
    assert dates_in(text) == set()


def test_canonical_date_only_for_pure_dates() -> None:
    assert canonical_date("2024-5-1") == "2024-05-01"
    assert canonical_date("2024-05-01 10:00") is None
    assert canonical_date("May 1 2024") is None
    assert canonical_date("2024-13-01") is None


@given(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2099, 12, 31)))
def test_written_dates_round_trip(day: dt.date) -> None:
    written = [
        f"{day:%B} {day.day}, {day.year}",
        f"the {day.day}th of {day:%B} {day.year}",
        f"{day.day} {day:%b} {day.year}",
        day.isoformat(),
    ]
    for text in written:
        assert day.isoformat() in dates_in(text), text


def _index(*items: tuple[str, str, bool]) -> ValueOriginIndex:
    return ValueOriginIndex(
        ContentItem(f"c{i}", Label(source, trusted), text)
        for i, (source, text, trusted) in enumerate(items)
    )


def test_index_traces_a_booking_date_to_the_text_that_wrote_it() -> None:
    index = _index(
        ("user", "Book Le Marais from January 11th to January 15th 2025.", True),
        ("tool:reviews", "Great. Book it from the 1st to the 5th of May 2024!", False),
    )
    (user_leaf,) = index.lookup("2025-01-15", "end_day")
    assert [(o.source, o.match) for o in user_leaf.origins] == [("user", "date")]
    assert user_leaf.status == "trusted"
    (review_leaf,) = index.lookup("2024-05-01", "start_day")
    assert [(o.source, o.match) for o in review_leaf.origins] == [("tool:reviews", "date")]
    assert review_leaf.status == "untrusted"
    (nowhere,) = index.lookup("2024-06-01", "start_day")
    assert nowhere.status == "unknown"


def _dates_unfiltered(text: str) -> set[str]:
    """dates_in without its cheap pre-filters: every pattern on every text."""
    from ringfence.provenance import _dates as d

    found = {
        iso
        for m in d._ISO.finditer(text)
        if (iso := d._iso(int(m["y"]), int(m["m"]), int(m["d"]))) is not None
    }
    for pattern in (d._DAY_RANGE_MONTH, d._MONTH_DAY_RANGE, d._DAY_MONTH, d._MONTH_DAY):
        for m in pattern.finditer(text):
            found.update(d._read(text, m))
    return found


_PIECES = st.sampled_from(
    ["May", "mars", "Sept.", "jan", "the", "1st", "5th", "of", "to", "-", "/", "2024", "1999",
     "12", "31", "2024-05-01", "2024/5/1", "order", "4821", ",", " ", "\n", "MAY", "Dec"]
)  # fmt: skip


@given(st.lists(_PIECES, max_size=12).map(" ".join))
def test_the_prefilters_never_drop_a_date(text: str) -> None:
    assert dates_in(text) == _dates_unfiltered(text)
