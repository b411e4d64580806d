"""The OpenAI chat-completions wire format: errors, message text, responses, stream chunks.

Only what the proxy reads or writes is modelled here, as plain dicts (the wire format evolves;
unknown fields pass through untouched).
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator, Mapping
from typing import Any, Literal

import orjson

ErrorType = Literal[
    "invalid_request_error",
    "authentication_error",
    "permission_error",
    "rate_limit_error",
    "content_blocked",
    "upstream_error",
    "server_error",
]
"""The ``error.type`` values the proxy returns (OpenAI's names where one exists)."""

Json = dict[str, Any]

# 19+ digits in a row: an integer orjson would turn into a float (it keeps 64-bit integers only)
_LONG_NUMBER = re.compile(rb"[0-9]{19}")


def _not_json(token: str) -> Any:
    raise ValueError(f"{token} is not JSON")


def _finite(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError(f"number {text[:40]} is out of range")
    return value


def loads(data: bytes | str) -> Any:
    """Parse JSON (raises ``ValueError``). orjson where it is exact; the standard library for
    documents with integers beyond 64 bits (kept exact, never turned into floats). ``NaN``,
    ``Infinity`` and numbers that overflow a double are rejected: they are not JSON, and the
    proxy passes on only what it can write back unchanged."""
    raw = data.encode() if isinstance(data, str) else data
    if _LONG_NUMBER.search(raw) is None:
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass  # the standard library decides (and names the reason)
    return json.loads(raw, parse_constant=_not_json, parse_float=_finite)


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON of what :func:`loads` returned (or the proxy built). orjson, or the
    standard library for what orjson refuses (integers beyond 64 bits, lone surrogates)."""
    try:
        return orjson.dumps(value)
    except TypeError:
        return json.dumps(value, separators=(",", ":")).encode()


def error_body(
    message: str, type_: ErrorType, code: str | None = None, param: str | None = None
) -> Json:
    """An OpenAI-style error object: ``{"error": {message, type, param, code}}``."""
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


# characters that str.splitlines() (and so some SSE clients, httpx's line reader among them)
# treats as line breaks, which JSON may leave unescaped inside strings
_SPLITLINES = (
    (b"\xc2\x85", b"\\u0085"),
    (b"\xe2\x80\xa8", b"\\u2028"),
    (b"\xe2\x80\xa9", b"\\u2029"),
)


def sse(data: Mapping[str, Any] | str) -> bytes:
    """One server-sent event line (``data: ...``) with its blank-line terminator. The JSON
    escapes U+0085, U+2028 and U+2029, so clients that split lines like ``str.splitlines``
    still see one line."""
    raw = data.encode() if isinstance(data, str) else dumps(data)
    if not raw.isascii():
        for char, escaped in _SPLITLINES:
            raw = raw.replace(char, escaped)
    return b"data: " + raw + b"\n\n"


DONE = sse("[DONE]")


def iter_sse_data(lines: Iterator[str]) -> Iterator[str]:
    """The ``data`` payloads of a server-sent event stream (multi-line data joined by \\n)."""
    buf: list[str] = []
    for line in lines:
        if line == "":
            if buf:
                yield "\n".join(buf)
                buf = []
        elif line.startswith("data:"):
            buf.append(line[5:].removeprefix(" "))
    if buf:
        yield "\n".join(buf)


def text_of(content: Any) -> tuple[str, list[str]]:
    """The text of a message's ``content`` (a string, null or a list of parts) and the types of
    parts that are not text (images, audio, files: content no guard can scan)."""
    if content is None:
        return "", []
    if isinstance(content, str):
        return content, []
    texts: list[str] = []
    other: list[str] = []
    if isinstance(content, list):
        for part in content:
            if isinstance(part, Mapping) and part.get("type") in ("text", "input_text"):
                texts.append(str(part.get("text") or ""))
            elif isinstance(part, Mapping) and part.get("type") == "refusal":
                texts.append(str(part.get("refusal") or ""))
            else:
                other.append(str(part.get("type")) if isinstance(part, Mapping) else "unknown")
    else:
        other.append(type(content).__name__)
    return "\n".join(texts), other


def completion_id() -> str:
    return f"chatcmpl-rf{uuid.uuid4().hex[:24]}"


def refusal_completion(model: str, text: str, *, extra: Json | None = None) -> Json:
    """A well-formed chat completion whose only choice is an assistant refusal."""
    body: Json = {
        "id": completion_id(),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text, "refusal": text},
                "finish_reason": "content_filter",
                "logprobs": None,
            }
        ],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
    }
    if extra:
        body["ringfence"] = extra
    return body


def chunk(base: Mapping[str, Any], choices: list[Json], **extra: Any) -> Json:
    """A ``chat.completion.chunk`` with the id/model/created of ``base`` (the upstream's)."""
    out: Json = {
        "id": base.get("id") or completion_id(),
        "object": "chat.completion.chunk",
        "created": base.get("created") or int(time.time()),
        "model": base.get("model") or "",
        "choices": choices,
    }
    out.update(extra)
    return out


def delta_choice(index: int, delta: Json, finish_reason: str | None = None) -> Json:
    return {"index": index, "delta": delta, "finish_reason": finish_reason, "logprobs": None}


def refusal_chunks(model: str, text: str, *, extra: Json | None = None) -> list[bytes]:
    """A refusal as a complete stream: role, text, finish (content_filter), ``[DONE]``."""
    base = {"id": completion_id(), "model": model, "created": int(time.time())}
    last = chunk(base, [delta_choice(0, {}, "content_filter")])
    if extra:
        last["ringfence"] = extra
    return [
        sse(chunk(base, [delta_choice(0, {"role": "assistant", "content": ""})])),
        sse(chunk(base, [delta_choice(0, {"content": text, "refusal": text})])),
        sse(last),
        DONE,
    ]
