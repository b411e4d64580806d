"""Readings of a text that a capable model would also see: HTML flattened (hidden parts kept),
homoglyphs folded, and payloads decoded from base64, hex, ROT13, leetspeak, percent-encoding and
Unicode tag characters ("ASCII smuggling").

Used by the scripted models (both parse the same readings) and by the scorers' refusal check.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import html
import re
import unicodedata
from urllib.parse import unquote

_HOMOGLYPHS = str.maketrans(
    "аеорсухіјѕԁɡοαειкνρτυχАВЕКМНОРСТХІЅ‘’“”",
    "aeopcyxijsdgoaeikvptuxABEKMHOPCTXIS''\"\"",
)
_TAG_CHARS = re.compile("[\U000e0020-\U000e007e]+")
_INVISIBLE = re.compile(
    "[\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff\U000e0000-\U000e007f]"
)
_COMMENT = re.compile(r"<!--(.*?)-->", re.S)
_TAG = re.compile(r"<[^>]+>")
_ATTR = re.compile(r"\b(?:alt|title|aria-label|data-[\w-]+)\s*=\s*\"([^\"]*)\"", re.I)
_B64 = re.compile(r"(?<![\w+/=])[A-Za-z0-9+/]{16,}={0,2}(?![\w+/=])")
_HEX = re.compile(r"(?<![0-9A-Fa-f])(?:[0-9A-Fa-f]{2}[ :]?){10,}(?![0-9A-Fa-f])")
_HEX_ESC = re.compile(r"(?:\\x[0-9A-Fa-f]{2}){6,}")
_ROT13 = re.compile(r"rot-?13|caesar", re.I)
_LEET_TOKEN = re.compile(
    r"(?<![\w@./-])(?=[a-z0-9]*[a-z])(?=[a-z0-9]*[0-9])[a-z0-9]{3,}(?![\w@/-])", re.I
)
_LEET = str.maketrans("013457", "oieast")
_PERCENT = re.compile(r"(?:%[0-9A-Fa-f]{2}){3,}")
_HIDDEN_ELEMENT = re.compile(
    r"<(\w+)\b[^>]*(?:style\s*=\s*\"[^\"]*(?:display\s*:\s*none|visibility\s*:\s*hidden|"
    r"font-size\s*:\s*0(?![.\d]*[1-9])|opacity\s*:\s*0(?![.\d]*[1-9])|color\s*:\s*(?:#fff(?:fff)?|white))"
    r"[^\"]*\"|\bhidden\b|aria-hidden\s*=\s*\"true\")[^>]*>.*?</\1\s*>",
    re.I | re.S,
)
_SCRIPT = re.compile(r"<(script|style)\b.*?</\1\s*>", re.I | re.S)
_WS = re.compile(r"[ \t\r\f\v]+")


def fold(text: str) -> str:
    """NFKC, invisible characters removed, homoglyphs folded to Latin, curly quotes made
    straight; case is kept."""
    text = unicodedata.normalize("NFKC", text)
    return _INVISIBLE.sub("", text).translate(_HOMOGLYPHS)


def html_text(text: str, *, visible_only: bool = False) -> str:
    """Text of an HTML fragment. By default hidden elements, comments and alt/title attributes
    are kept (a model reading raw HTML sees them); ``visible_only`` drops them."""
    if "<" not in text and "&" not in text:
        return text
    if visible_only:
        text = _HIDDEN_ELEMENT.sub(" ", _COMMENT.sub(" ", _SCRIPT.sub(" ", text)))
        attrs = ""
    else:
        attrs = " ".join(f"{a}." for a in _ATTR.findall(text))
        text = _COMMENT.sub(r" \1 ", text)
    text = re.sub(r"</?(?:p|div|h\d|li|br|tr|article|section)\b[^>]*>", "\n", text, flags=re.I)
    flat = html.unescape(_TAG.sub(" ", text))
    lines = (_WS.sub(" ", line).strip() for line in f"{flat}\n{attrs}".splitlines())
    return "\n".join(line for line in lines if line)


def readings(text: str) -> list[str]:
    """The text (flattened and folded) followed by every decoded payload found in it."""
    base = fold(html_text(text))
    out = [base]
    for decoded in (*_tag_payloads(text), *_encoded_payloads(base)):
        clean = fold(html_text(decoded))
        if clean.strip() and clean not in out:
            out.append(clean)
    return out


def _tag_payloads(text: str) -> list[str]:
    return ["".join(chr(ord(c) - 0xE0000) for c in m.group(0)) for m in _TAG_CHARS.finditer(text)]


def _encoded_payloads(text: str) -> list[str]:
    found: list[str] = []
    for match in _B64.finditer(text):
        found.extend(_printable(_b64(match.group(0))))
    for match in _HEX.finditer(text):
        found.extend(_printable(_unhex(re.sub(r"[ :]", "", match.group(0)))))
    for match in _HEX_ESC.finditer(text):
        found.extend(_printable(_unhex(match.group(0).replace("\\x", ""))))
    if _ROT13.search(text):
        found.append(codecs.decode(_after_marker(text), "rot13"))
    if _LEET_TOKEN.search(text):
        leet = _LEET_TOKEN.sub(lambda m: m.group(0).translate(_LEET), text)
        if leet != text:
            found.append(leet)
    if _PERCENT.search(text):
        found.append(unquote(text))
    return found


def _after_marker(text: str) -> str:
    match = _ROT13.search(text)
    assert match is not None
    rest = text[match.end() :]
    colon = rest.find(":")
    return rest[colon + 1 :] if colon != -1 else rest


def _b64(token: str) -> bytes:
    padded = token + "=" * (-len(token) % 4)
    try:
        return base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        return b""


def _unhex(token: str) -> bytes:
    try:
        return bytes.fromhex(token)
    except ValueError:
        return b""


def _printable(raw: bytes) -> list[str]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return []
    if len(text) < 6 or " " not in text:
        return []
    good = sum(ch.isprintable() or ch in "\n\t" for ch in text)
    return [text] if good / len(text) >= 0.95 else []


def visible_sentences(text: str) -> list[str]:
    """Sentences of the visible text (hidden HTML, comments and invisible characters dropped)."""
    flat = fold(html_text(text, visible_only=True))
    parts = re.split(r"(?<=[.!?])\s+|\n+", flat)
    return [p.strip() for p in parts if p.strip()]
