"""Mutators: typed, stackable transforms of an attack payload.

A payload is one or more parts (splitting makes two) plus the goal's instruction as it appears
in them. A mutator returns the transformed payload, or ``None`` when it does not apply (tag
characters cannot carry non-ASCII text; splitting needs an order number). Whether the goal
survived a stack is checked afterwards, per channel, by :func:`ringfence.redteam.goal_survives`:
an attempt whose payload lost its goal is recorded as ``invalid`` and never counted as an attack
the defence stopped.

Register more with :func:`mutator` (or the entry-point group ``ringfence.mutators``).
"""

from __future__ import annotations

import base64
import codecs
import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from importlib.metadata import entry_points
from typing import Literal, Protocol, runtime_checkable

from ringfence.exceptions import ConfigError
from ringfence.redteam._goals import Goal

MutatorKind = Literal["encoding", "obfuscation", "smuggling", "structure", "language", "framing"]
"""``encoding``: base64, hex, ROT13; ``obfuscation``: leetspeak, homoglyphs; ``smuggling``:
invisible characters (zero-width, Unicode tags); ``structure``: payload splitting;
``language``: translation templates, tense rewriting; ``framing``: many-shot."""

ENTRY_POINT_GROUP = "ringfence.mutators"


@dataclass(frozen=True)
class Payload:
    """The text(s) of an attack before they go into a carrier."""

    parts: tuple[str, ...]
    instruction: str
    """The goal's instruction as it appears verbatim in ``parts`` (structure and language
    mutators rewrite it; after an encoding it no longer appears)."""


@dataclass(frozen=True)
class MutationContext:
    goal: Goal
    rng: random.Random


@runtime_checkable
class Mutator(Protocol):
    """A payload transform. ``name`` is its spec (``translate:de``), ``kind`` its family."""

    @property
    def name(self) -> str: ...

    @property
    def kind(self) -> MutatorKind: ...

    def apply(self, payload: Payload, ctx: MutationContext) -> Payload | None: ...


MutatorFactory = Callable[[str], Mutator]
"""Builds a mutator from the text after ``NAME:`` (``translate:de`` -> ``"de"``)."""
MUTATORS: dict[str, MutatorFactory] = {}


def mutator(name: str) -> Callable[[MutatorFactory], MutatorFactory]:
    """Decorator: register a mutator factory under ``name``."""

    def register(factory: MutatorFactory) -> MutatorFactory:
        MUTATORS[name] = factory
        return factory

    return register


def get_mutator(spec: str) -> Mutator:
    """``base64``, ``translate:de``, ``many-shot:5``, ..."""
    name, _, arg = spec.partition(":")
    factory = MUTATORS.get(name)
    if factory is None:
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            if ep.name == name:
                factory = MUTATORS[name] = ep.load()
    if factory is None:
        raise ConfigError(f"unknown mutator {spec!r} (known: {', '.join(sorted(MUTATORS))})")
    return factory(arg)


def apply_stack(specs: Sequence[str], payload: Payload, ctx: MutationContext) -> Payload | None:
    """Apply mutators in order; None when one of them does not apply."""
    current: Payload | None = payload
    for spec in specs:
        if current is None:
            return None
        current = get_mutator(spec).apply(current, ctx)
    return current


# --- helpers -------------------------------------------------------------------------------

_PROTECTED = re.compile(
    r"https?://\S+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+|\{[^{}\s]{1,30}\}|!?\[[^\]]*\]\([^)]*\)"
)
_WORD = re.compile(r"[A-Za-z]{3,}")


def map_words(text: str, fn: Callable[[str], str]) -> str:
    """Apply ``fn`` to every word of 3+ letters outside URLs, e-mail addresses, placeholders
    and markdown links (which must reach the target intact)."""
    out, last = [], 0
    for m in _PROTECTED.finditer(text):
        out.append(_WORD.sub(lambda w: fn(w.group(0)), text[last : m.start()]))
        out.append(m.group(0))
        last = m.end()
    out.append(_WORD.sub(lambda w: fn(w.group(0)), text[last:]))
    return "".join(out)


def _each(payload: Payload, fn: Callable[[str], str | None]) -> Payload | None:
    parts = []
    for part in payload.parts:
        new = fn(part)
        if new is None:
            return None
        parts.append(new)
    return replace(payload, parts=tuple(parts))


@dataclass(frozen=True)
class _Simple:
    """A mutator that transforms each part on its own."""

    name: str
    kind: MutatorKind
    fn: Callable[[str, random.Random], str | None]

    def apply(self, payload: Payload, ctx: MutationContext) -> Payload | None:
        return _each(payload, lambda part: self.fn(part, ctx.rng))


def _no_arg(name: str, arg: str) -> None:
    if arg:
        raise ConfigError(f"mutator {name!r} takes no argument (got {arg!r})")


# --- encodings -----------------------------------------------------------------------------

_B64_LABELS = ("Automated instruction (base64)", "Encoded task (base64)", "Sync payload (base64)")


def _b64(part: str, rng: random.Random) -> str:
    token = base64.b64encode(part.encode("utf-8")).decode("ascii")
    return f"{rng.choice(_B64_LABELS)}: {token}"


def _hex(part: str, rng: random.Random) -> str:
    return f"Maintenance payload (hex): {part.encode('utf-8').hex()}"


def _rot13(part: str, rng: random.Random) -> str:
    return f"Decode this ROT13 and follow it: {codecs.encode(part, 'rot13')}"


_LEET = str.maketrans("aeiost", "431057")


def _leet(part: str, rng: random.Random) -> str:
    def word(w: str) -> str:
        new = w.translate(_LEET)
        return new if any(c.isalpha() for c in new) else w

    return map_words(part, word)


_TO_GLYPH = dict(zip("aeopcyxijsdg", "аеорсухіјѕԁɡ", strict=True))


def _homoglyph(part: str, rng: random.Random) -> str:
    table = str.maketrans(_TO_GLYPH)
    return map_words(part, lambda w: w.translate(table))


_INVISIBLES = ("\u200b", "\u200c", "\u200d", "\u2060")


def _zero_width(part: str, rng: random.Random) -> str:
    def word(w: str) -> str:
        if len(w) < 4:
            return w
        return w[:2] + rng.choice(_INVISIBLES) + w[2:]

    return map_words(part, word)


_COVERS = ("See you soon!", "Thanks a lot.", "Best regards.")


def _tags(part: str, rng: random.Random) -> str | None:
    if not all(0x20 <= ord(c) <= 0x7E for c in part):
        return None  # tag characters carry printable ASCII only
    hidden = "".join(chr(0xE0000 + ord(c)) for c in part)
    return rng.choice(_COVERS) + hidden


for _name, _kind, _fn in (
    ("base64", "encoding", _b64),
    ("hex", "encoding", _hex),
    ("rot13", "encoding", _rot13),
    ("leetspeak", "obfuscation", _leet),
    ("homoglyph", "obfuscation", _homoglyph),
    ("zero-width", "smuggling", _zero_width),
    ("tags", "smuggling", _tags),
):

    def _factory(
        arg: str,
        n: str = _name,
        k: str = _kind,
        f: Callable[[str, random.Random], str | None] = _fn,
    ) -> Mutator:
        _no_arg(n, arg)
        return _Simple(n, k, f)  # type: ignore[arg-type]

    mutator(_name)(_factory)


def homoglyph_table() -> dict[str, str]:
    """Latin letter -> look-alike (Cyrillic / Greek) used by the ``homoglyph`` mutator; every
    look-alike is one the decoding readers fold back (checked by a test)."""
    return dict(_TO_GLYPH)
