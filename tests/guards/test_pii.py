"""PII: regex with checksums, redact-and-restore, the presidio extra."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from ringfence.exceptions import MissingExtraError
from ringfence.guards import (
    PiiGuard,
    PiiRedactor,
    create_guard,
    find_pii,
    iban_ok,
    luhn_ok,
    redact_pii,
    restore_pii,
)
from ringfence.provenance import Label

OUT = Label("assistant", False)


def kinds(text: str) -> list[str]:
    return [p.kind for p in find_pii(text)]


def test_checksums():
    assert luhn_ok("4111111111111111")
    assert not luhn_ok("4111111111111112")
    assert iban_ok("GB82 WEST 1234 5698 7654 32")
    assert iban_ok("DE89370400440532013000")
    assert not iban_ok("DE89370400440532013001")
    assert not iban_ok("XX00")


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("mail jane.doe+tag@example.co.uk now", "email"),
        ("card 4111 1111 1111 1111 exp 12/29", "card"),
        ("card 5500-0000-0000-0004", "card"),
        ("pay to GB82 WEST 1234 5698 7654 32 today", "iban"),
        ("pay to de89370400440532013000", "iban"),
        ("ssn 123-45-6789", "ssn"),
        ("call +44 20 7946 0958", "phone"),
        ("call (555) 123-4567 ext", "phone"),
        ("call +14155550123", "phone"),
    ],
)
def test_pii_is_found(text, kind):
    assert kind in kinds(text)


@pytest.mark.parametrize(
    "text",
    [
        "order 4111111111111112 shipped",  # fails Luhn
        "IBAN DE89370400440532013001 is wrong",  # fails mod-97
        "server 192.168.100.200 is up",
        "released on 2024-01-15 as version 1.2.3",
        "order number 48213 costs 35.50",
        "ssn 000-12-3456 is invalid",
        "no at-sign here",
    ],
)
def test_look_alikes_are_not_pii(text):
    assert kinds(text) == []


def test_redact_and_restore_round_trip():
    text = "Mail jane@example.com or call +44 20 7946 0958; jane@example.com again."
    red = redact_pii(text)
    assert red.text == "Mail <EMAIL_1> or call <PHONE_1>; <EMAIL_1> again."
    answer = "I will write to <EMAIL_1> and call < phone_1 > tomorrow. <CARD_9> stays."
    assert red.restore(answer) == (
        "I will write to jane@example.com and call +44 20 7946 0958 tomorrow. <CARD_9> stays."
    )


def test_a_redactor_keeps_placeholders_across_turns():
    redactor = PiiRedactor()
    first = redactor.redact("a@example.com")
    second = redactor.redact("b@example.com and a@example.com")
    assert first.text == "<EMAIL_1>"
    assert second.text == "<EMAIL_2> and <EMAIL_1>"
    assert redactor.restore("<EMAIL_2>") == "b@example.com"
    assert restore_pii("<EMAIL_1>", {}) == "<EMAIL_1>"


def test_guard_findings_and_rewrite():
    guard = PiiGuard(kinds=["email"])
    found = guard.check("a@example.com, +44 20 7946 0958", OUT)
    assert [f.kind for f in found] == ["pii.email"]
    assert guard.rewrite("to a@example.com") == "to <EMAIL_1>"


def test_presidio_is_an_extra_with_the_exact_hint(monkeypatch):
    import importlib

    real = importlib.import_module

    def without_presidio(name, *args, **kwargs):
        if name.startswith("presidio_analyzer"):
            raise ImportError(f"No module named {name!r}")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(importlib, "import_module", without_presidio)
    with pytest.raises(MissingExtraError) as info:
        create_guard("pii", {"engine": "presidio"})
    assert "pip install 'ringfence[pii]'" in str(info.value)
    assert "presidio-analyzer" in str(info.value)


def test_presidio_never_downloads_a_spacy_model():
    from ringfence.exceptions import ConfigError
    from ringfence.guards._presidio import _installed_model

    with pytest.raises(ConfigError, match="never downloaded"):
        _installed_model("definitely_not_a_spacy_model")
    assert _installed_model("json") == "json"  # any importable package name is accepted


_DIGITY = st.text(
    alphabet=st.sampled_from([*"0123456789 -+().@abcXY", "\u0663", "\u0967", "\u00b2"]),
    max_size=60,
)


@given(_DIGITY)
@example("card 4111 1111 1111 1111, ssn 123-45-6789, call +44 20 7946 0958")
@example("IBAN GB82 WEST 1234 5698 7654 32 or 12345678")
@example("\u0665\u0665\u0665 \u0661\u0662\u0663 \u0664\u0665\u0666\u0667")
def test_the_digit_prefilter_never_changes_what_is_found(text: str) -> None:
    """A kind is skipped only in texts with fewer digits than any of its matches has (ASCII
    and other decimal digits alike): the same matches as searching every kind."""
    from ringfence.guards import _pii

    everything = dict.fromkeys(_pii._MIN_DIGITS, 0)
    filtered = _pii.find_pii(text)
    saved = dict(_pii._MIN_DIGITS)
    try:
        _pii._MIN_DIGITS.update(everything)
        assert _pii.find_pii(text) == filtered
    finally:
        _pii._MIN_DIGITS.update(saved)


def test_digits_are_counted_as_the_regexes_see_them() -> None:
    from ringfence.guards._pii import _digit_count

    assert _digit_count("call 555 0100") == 7
    assert _digit_count("\u0661\u0662\u0663 and 4") == 4  # Arabic-Indic digits are \d
    assert _digit_count("x\u00b2") == 0  # a superscript is not
