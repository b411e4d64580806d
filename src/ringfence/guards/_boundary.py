"""Size limits at the input boundary: characters, UTF-8 bytes, lines and estimated tokens."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from ringfence.guards._registry import guard
from ringfence.guards._types import Action, Finding
from ringfence.provenance import Label


def estimate_tokens(text: str) -> int:
    """A tokenizer-free upper-ish estimate of the token count: the larger of UTF-8 bytes / 4 (the
    usual rule of thumb for English) and the number of words and punctuation marks."""
    if not text:
        return 0
    by_bytes = math.ceil(len(text.encode("utf-8", "surrogatepass")) / 4)
    return max(by_bytes, len(text.split()))


@guard(name="size")
class SizeGuard:
    """Rejects texts over a size limit (each limit that is set is checked)."""

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")
        max_chars: int | None = Field(default=32_000, gt=0)
        """At most this many characters."""
        max_bytes: int | None = Field(default=None, gt=0)
        """At most this many UTF-8 bytes."""
        max_lines: int | None = Field(default=None, gt=0)
        """At most this many lines."""
        max_tokens: int | None = Field(default=None, gt=0)
        """At most this many tokens, as estimated by :func:`estimate_tokens` (or by a
        ``tokenizer`` given from Python)."""

    default_action: ClassVar[Action] = "block"
    inline: bool = True  # bounded CPU work, no I/O: may run in the calling thread
    pure: bool = True  # findings depend only on the text (with the built-in token estimate)
    threshold: float = 0.5

    def __init__(
        self,
        max_chars: int | None = 32_000,
        max_bytes: int | None = None,
        max_lines: int | None = None,
        max_tokens: int | None = None,
        tokenizer: Callable[[str], int] | None = None,
    ) -> None:
        self.name = "size"
        self.max_chars = max_chars
        self.max_bytes = max_bytes
        self.max_lines = max_lines
        self.max_tokens = max_tokens
        self.count_tokens = tokenizer or estimate_tokens
        self.pure = tokenizer is None

    def check(self, text: str, label: Label) -> Sequence[Finding]:
        measures: list[tuple[str, int | None, Callable[[str], int]]] = [
            ("chars", self.max_chars, len),
            ("bytes", self.max_bytes, lambda t: len(t.encode("utf-8", "surrogatepass"))),
            ("lines", self.max_lines, lambda t: t.count("\n") + 1),
            ("tokens", self.max_tokens, self.count_tokens),
        ]
        out = []
        for unit, limit, measure in measures:
            if limit is None:
                continue
            size = measure(text)
            if size > limit:
                msg = f"{size} {unit} is over the limit of {limit}"
                out.append(Finding(self.name, f"size.{unit}", 1.0, None, msg))
        return out
