"""Size limits."""

from __future__ import annotations

from ringfence.guards import SizeGuard, estimate_tokens
from ringfence.provenance import Label

USER = Label("user", True)


def kinds(guard: SizeGuard, text: str) -> list[str]:
    return [f.kind for f in guard.check(text, USER)]


def test_within_limits_passes():
    assert kinds(SizeGuard(max_chars=10), "0123456789") == []


def test_each_limit_is_checked():
    assert kinds(SizeGuard(max_chars=10), "01234567890") == ["size.chars"]
    assert kinds(SizeGuard(max_chars=None, max_bytes=4), "ééé") == ["size.bytes"]
    assert kinds(SizeGuard(max_chars=None, max_lines=2), "a\nb\nc") == ["size.lines"]
    assert kinds(SizeGuard(max_chars=None, max_tokens=3), "one two three four") == ["size.tokens"]


def test_custom_tokenizer():
    guard = SizeGuard(max_chars=None, max_tokens=2, tokenizer=lambda t: len(t.split(",")))
    assert kinds(guard, "a,b,c") == ["size.tokens"]
    assert kinds(guard, "a b c d e f") == []


def test_estimate_tokens():
    assert estimate_tokens("") == 0
    assert estimate_tokens("hello world") == 3  # 11 bytes / 4, rounded up
    assert estimate_tokens("a b c d e f") == 6  # more words than bytes / 4
