"""The upstream model endpoint: an httpx client and the mapping of its failures to OpenAI-style
errors (the client sees ``upstream_error`` with a status, never a stack trace)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx

from ringfence.exceptions import UpstreamError
from ringfence.server._wire import Json, error_body

_PASS_THROUGH = frozenset({400, 404, 413, 422, 429})


def make_client(
    base_url: str,
    *,
    timeout_s: float,
    api_key: str | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    max_connections: int = 256,
) -> httpx.AsyncClient:
    """The proxy's client for ``base_url`` (an OpenAI base URL such as ``http://h:8000/v1``)."""
    headers = {"authorization": f"Bearer {api_key}"} if api_key else {}
    limits = httpx.Limits(
        max_connections=max_connections, max_keepalive_connections=max_connections
    )
    timeout = httpx.Timeout(timeout_s, connect=min(timeout_s, 10.0))
    return httpx.AsyncClient(
        base_url=base_url.rstrip("/") + "/",
        headers=headers,
        timeout=timeout,
        limits=limits,
        transport=transport,
    )


def map_transport_error(exc: httpx.HTTPError) -> UpstreamError:
    """An httpx failure as an :class:`UpstreamError` with its ``kind``."""
    if isinstance(exc, httpx.TimeoutException):
        return UpstreamError(f"upstream timed out ({type(exc).__name__})", "timeout")
    if isinstance(exc, httpx.ConnectError):
        return UpstreamError("upstream is unreachable", "connect")
    if isinstance(exc, httpx.ReadError | httpx.RemoteProtocolError | httpx.WriteError):
        return UpstreamError(f"upstream connection failed ({type(exc).__name__})", "reset")
    return UpstreamError(f"upstream request failed ({type(exc).__name__})", "protocol")


def error_response(err: UpstreamError) -> tuple[int, Json]:
    """(status, OpenAI-style body) for an upstream failure."""
    status = 504 if err.kind == "timeout" else 502
    return status, error_body(str(err), "upstream_error", f"upstream_{err.kind}")


def status_error(status: int, content: bytes) -> tuple[int, Json]:
    """An upstream HTTP error: request errors (400, 404, 413, 422, 429) pass through with the
    upstream's error object; anything else (its auth, its 5xx) is a 502."""
    body: Any = None
    with contextlib.suppress(ValueError):
        body = json.loads(content)
    if status in _PASS_THROUGH and isinstance(body, dict) and isinstance(body.get("error"), dict):
        return status, body
    return 502, error_body(f"upstream answered HTTP {status}", "upstream_error", "upstream_status")


def parse_json(content: bytes) -> Json:
    try:
        data = json.loads(content)
    except ValueError as exc:
        raise UpstreamError("upstream sent a body that is not JSON", "protocol") from exc
    if not isinstance(data, dict):
        raise UpstreamError("upstream sent JSON that is not an object", "protocol")
    return data


async def sse_payloads(response: httpx.Response) -> AsyncIterator[str]:
    """The ``data`` payloads of a streamed upstream response."""
    buf: list[str] = []
    async for line in response.aiter_lines():
        if line == "":
            if buf:
                yield "\n".join(buf)
                buf = []
        elif line.startswith("data:"):
            buf.append(line[5:].removeprefix(" "))
    if buf:
        yield "\n".join(buf)
