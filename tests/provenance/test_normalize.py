"""Canonical forms used to match argument values against content."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ringfence.provenance import (
    canonical_email,
    canonical_iban,
    canonical_number,
    canonical_url,
    normalize_text,
)
from ringfence.provenance._normalize import iban_pattern, numbers_in, urls_in


def test_normalize_text_casefold_nfkc_whitespace_invisible() -> None:
    assert normalize_text("  ＡＢＣ\u200b  Def\n\tGHI ") == "abc def ghi"
    assert normalize_text("Stra\u00dfe") == "strasse"
    assert normalize_text("pay\u202eal") == "payal"  # bidi override removed


@given(st.text())
def test_normalize_is_idempotent(text: str) -> None:
    once = normalize_text(text)
    assert normalize_text(once) == once


@pytest.mark.parametrize(
    ("value", "canon"),
    [
        (40, "40"),
        (40.0, "40"),
        ("40.00", "40"),
        ("1,234.50", "1234.5"),
        ("1.234,50", "1234.5"),
        ("$25", "25"),
        ("0.10", "0.1"),
        (-3, "-3"),
        (1e3, "1000"),
    ],
)
def test_canonical_number(value: object, canon: str) -> None:
    assert canonical_number(value) == canon


@pytest.mark.parametrize("value", [True, None, "abc", float("nan"), float("inf"), "1,234"])
def test_canonical_number_rejects_non_numbers_and_ambiguity(value: object) -> None:
    assert canonical_number(value) is None


def test_numbers_in_text_reads_common_formats() -> None:
    found = numbers_in("Refund €1.234,50 or 1,234.50 or 25 - order #4821 on 2024-05-01")
    assert {"1234.5", "25", "4821"} <= found


def test_ambiguous_grouping_yields_both_readings() -> None:
    assert {"1234", "1.234"} <= numbers_in("total 1,234 items")


def test_canonical_email() -> None:
    assert canonical_email("mailto:Bob.Smith@Example.COM") == "bob.smith@example.com"
    assert canonical_email("not an email") is None
    assert canonical_email("a@b.co and c@d.co") is None


def test_canonical_url() -> None:
    assert canonical_url("HTTPS://Shop.Example.com:443/a/b/#frag") == "https://shop.example.com/a/b"
    assert canonical_url("http://shop.example.com/") == canonical_url("https://shop.example.com")
    assert canonical_url("www.example.com/x?q=1") == "https://www.example.com/x?q=1"
    assert canonical_url("ftp://x.org") is None
    assert canonical_url("https://x.org:8443/p") == "https://x.org:8443/p"


def test_urls_in_text_strip_trailing_punctuation() -> None:
    assert urls_in("See https://evil.example/collect?d=1. Thanks") == {
        "https://evil.example/collect?d=1"
    }


def test_iban_forms() -> None:
    assert canonical_iban("gb33 bukb 2020 1555 5555 55") == "GB33BUKB20201555555555"
    assert canonical_iban("hello") is None
    pattern = iban_pattern("GB33BUKB20201555555555")
    assert pattern.search("pay to GB33 BUKB 2020 1555 5555 55 today")
    assert pattern.search("pay to gb33-bukb-2020-1555-5555-55.")
    assert pattern.search("iban:GB33BUKB20201555555555")
    assert not pattern.search("GB33BUKB202015555555551")  # a longer number is another account
    assert not pattern.search("XGB33BUKB20201555555555")
