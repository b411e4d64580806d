"""The OpenAI chat-completions wire format: errors, message text, responses, stream chunks.

Only what the proxy reads or writes is modelled here, as plain dicts (the wire format evolves;
unknown fields pass through untouched).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator, Mapping
from typing import Any, Literal

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


def error_body(
    message: str, type_: ErrorType, code: str | None = None, param: str | None = None
) -> Json:
    """An OpenAI-style error object: ``{"error": {message, type, param, code}}``."""
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


def sse(data: Mapping[str, Any] | str) -> bytes:
    """One server-sent event line (``data: ...``) with its blank-line terminator."""
    text = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    return f"data: {text}\n\n".encode()


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
