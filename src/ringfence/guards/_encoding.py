"""Encoded payloads: base64, hex, URL-encoding, rot13 and Unicode-tag text, decoded and rescanned.

An attacker hides instructions from filters by encoding them and asking the model to decode.
This guard finds runs that decode to readable text and rescans that text with the injection
detector (recursively, a few levels deep). A payload alone is not a finding worth acting on
(hashes, tokens and data URIs are everywhere): it scores 0.3; a decoded payload gets the
detector's score, so the step's threshold defaults to the detector's.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from ringfence.guards._injection import Detector, describe, load_detector
from ringfence.guards._registry import guard
from ringfence.guards._types import Action, Finding
from ringfence.guards._unicode import decode_tags
from ringfence.provenance import Label

_B64 = re.compile(r"(?<![A-Za-z0-9+/=_\-])[A-Za-z0-9+/_\-]{16,}={0,2}(?![A-Za-z0-9+/=_\-])")
_HEX = re.compile(
    r"(?<![0-9A-Fa-f])(?:[0-9A-Fa-f]{2}){8,}(?![0-9A-Fa-f])"
    r"|(?:\\x[0-9A-Fa-f]{2}){4,}"
    r"|(?<![0-9A-Fa-f])(?:[0-9A-Fa-f]{2}[ :]){7,}[0-9A-Fa-f]{2}(?![0-9A-Fa-f])"
)
_URLENC = re.compile(r"[^\s%]*(?:%[0-9A-Fa-f]{2}[^\s%]*){3,}")
_ROT13_WORDS = re.compile(
    r"\b(?:gur|naq|lbh|lbhe|vtaber|cerivbhf|vafgehpgvbaf|flfgrz|cebzcg|nyy|guvf|gung|jvgu|"
    r"sbe|abj|cyrnfr|fraq|cnffjbeq|frperg|vf|ner|bs|gb|gurz|sebz|hfre|qngn|eriyny|bhgchg)\b",
    re.IGNORECASE,
)
_LINE = re.compile(r"[^\n]+")
_TAG_RUN = re.compile("[\U000e0000-\U000e007f]+")
_PAYLOAD_SCORE = 0.3
_MIN_TEXT = 8


@dataclass(frozen=True)
class Payload:
    """An encoded run of the text and what it decodes to."""

    encoding: str
    span: tuple[int, int]
    decoded: str


def _readable(data: bytes) -> str | None:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if len(text.strip()) < _MIN_TEXT:
        return None
    printable = sum(1 for c in text if c.isprintable() or c in "\n\t\r")
    alnum = sum(1 for c in text if c.isalnum())
    return text if printable / len(text) >= 0.95 and alnum / len(text) >= 0.5 else None


def _b64(run: str) -> str | None:
    if not (any(c.isupper() for c in run) and any(c.islower() for c in run)):
        return None  # words, identifiers and hex digests are not base64 text
    bare = run.rstrip("=")
    padded = bare + "=" * (-len(bare) % 4)
    try:
        if "-" in run or "_" in run:
            data = base64.urlsafe_b64decode(padded)
        else:
            data = base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        return None
    return _readable(data)


def _hex(run: str) -> str | None:
    digits = re.sub(r"\\x|[ :]", "", run)
    try:
        return _readable(bytes.fromhex(digits))
    except ValueError:
        return None


def _url(run: str) -> str | None:
    decoded = urllib.parse.unquote(run, errors="strict") if "%" in run else run
    return decoded if decoded != run and len(decoded.strip()) >= _MIN_TEXT else None


def _scan(
    pattern: re.Pattern[str], decode: Callable[[str], str | None], name: str, text: str
) -> Iterator[Payload]:
    for m in pattern.finditer(text):
        try:
            decoded = decode(m.group())
        except (UnicodeDecodeError, ValueError):
            decoded = None
        if decoded is not None:
            yield Payload(name, m.span(), decoded)


def _rot13(text: str) -> Iterator[Payload]:
    for m in _LINE.finditer(text):
        line = m.group()
        hits = len(_ROT13_WORDS.findall(line))
        if hits < 3:
            continue
        words = len(line.split())
        decoded = codecs.encode(line, "rot13")
        plain = len(_ROT13_WORDS.findall(decoded))
        if hits / max(words, 1) >= 0.2 and hits > 2 * plain:
            yield Payload("rot13", m.span(), decoded)


def _table(mapping: dict[int, int], other: int) -> bytes:
    return bytes(mapping.get(b, other) for b in range(256))


_B64_BYTES = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=_-"
_HEX_BYTES = b"0123456789abcdefABCDEF"
_RUNS = _table(dict.fromkeys(_B64_BYTES, ord("a")), ord(" "))
_PAIRS = _table({**dict.fromkeys(_HEX_BYTES, ord("h")), ord(" "): ord(":"), ord(":"): ord(":")},
                ord("."))  # fmt: skip
_LETTERS = _table({b: b | 0x20 for b in b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"},
                  ord(" "))  # fmt: skip
_ROT13_SET = frozenset(
    w.encode() for w in _ROT13_WORDS.pattern.split("(?:")[1].split(")")[0].split("|")
)


def find_payloads(text: str) -> list[Payload]:
    """Every encoded run of ``text`` that decodes to readable text (not recursive).

    Literal pre-checks on the UTF-8 bytes (one ``bytes.translate`` each) decide which regexes run
    at all: ordinary prose runs none of them.
    """
    found: list[Payload] = []
    raw = text.encode("utf-8", "surrogatepass")
    long_run = b"a" * 16 in raw.translate(_RUNS)
    if long_run:
        found.extend(_scan(_B64, _b64, "base64", text))
    if long_run or b"\\x" in raw or b"hh:hh:hh:hh:hh:hh:hh:hh" in raw.translate(_PAIRS):
        found.extend(_scan(_HEX, _hex, "hex", text))
    if text.count("%") >= 3:
        found.extend(_scan(_URLENC, _url, "url", text))
    if not _ROT13_SET.isdisjoint(raw.translate(_LETTERS).split()):
        found.extend(_rot13(text))
    if b"\xf3\xa0" in raw:  # UTF-8 of the tag block U+E0000..U+E007F starts so
        found.extend(
            Payload("tags", m.span(), decode_tags(m.group()))
            for m in _TAG_RUN.finditer(text)
            if len(decode_tags(m.group()).strip()) >= _MIN_TEXT
        )
    return found


@guard(name="encoding")
class EncodingGuard:
    """Finds encoded payloads and rescans what they decode to (see the module docstring)."""

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")
        rescan: bool = True
        """Rescan decoded text with the injection detector (else payloads score 0.3)."""
        depth: int = Field(default=2, ge=1, le=4)
        """How many layers of encoding to peel."""
        max_payloads: int = Field(default=32, ge=1)
        """At most this many payloads are decoded per text (the rest are one finding)."""
        weights: str | None = None
        """Detector weights file (default: the bundled one)."""

    default_action: ClassVar[Action] = "flag"
    inline: bool = True  # bounded CPU work, no I/O: may run in the calling thread

    def __init__(
        self,
        rescan: bool = True,
        depth: int = 2,
        max_payloads: int = 32,
        weights: str | None = None,
        detector: Detector | None = None,
    ) -> None:
        self.name = "encoding"
        self.depth = depth
        self.max_payloads = max_payloads
        self.detector = (detector or load_detector(weights)) if rescan else None
        self.pure = detector is None  # the bundled (or a weights file's) detector: a function
        self.threshold = float(self.detector.default_threshold) if self.detector else 0.5

    def calibrate(self, threshold: float, floor: float) -> None:
        self.threshold = threshold

    def check(self, text: str, label: Label) -> Sequence[Finding]:
        out: list[Finding] = []
        budget = [self.max_payloads]
        for payload in find_payloads(text):
            out.append(self._finding(payload, payload.span, payload.encoding, 1, budget))
        if budget[0] < 0:
            out.append(
                Finding(
                    self.name,
                    "encoding.many",
                    0.9,
                    None,
                    f"more than {self.max_payloads} encoded payloads",
                )
            )
        return out

    def _finding(
        self, payload: Payload, span: tuple[int, int], chain: str, level: int, budget: list[int]
    ) -> Finding:
        budget[0] -= 1
        if budget[0] < 0:
            return Finding(self.name, f"encoding.{chain}", _PAYLOAD_SCORE, span, "not decoded")
        inner = [
            self._finding(p, span, f"{chain}.{p.encoding}", level + 1, budget)
            for p in (find_payloads(payload.decoded) if level < self.depth else [])
        ]
        best = Finding(
            self.name,
            f"encoding.{chain}",
            _PAYLOAD_SCORE,
            span,
            f"{chain}-encoded text: {payload.decoded[:60]!r}",
        )
        if self.detector is not None:
            scored = self.detector.score(payload.decoded)
            best = Finding(
                self.name,
                f"encoding.{chain}",
                float(scored.score),
                span,
                f"{chain}-encoded text, rescanned: {describe(scored)}",
            )
        return max([best, *inner], key=lambda f: f.score)
