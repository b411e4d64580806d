"""The upstream model endpoint: one small client interface, and the mapping of its failures to
OpenAI-style errors (the client sees ``upstream_error`` with a status, never a stack trace).

Two clients implement :class:`Upstream`. :class:`AiohttpUpstream` is the default: its C HTTP
parser costs about 1.5 ms less CPU per request than httpx's pure-Python stack (h11, anyio
cancel scopes, header and URL models), which was the largest part of the proxy's overhead
(``docs/serving.md``, Measured figures). :class:`HttpxUpstream` runs over a given
``httpx.AsyncBaseTransport`` (``ProxyConfig.transport``: mock transports in tests, custom
transports, which decide proxies and TLS themselves). Both send the same requests (HTTP/1.1,
keep-alive, no redirects, no cookies kept from one request for the next) and raise only
:class:`UpstreamError`, with the same ``kind`` for the same failure: ``timeout`` (no byte for
``upstream_timeout`` seconds), ``connect``, ``reset`` (the connection broke, also mid-body),
``protocol`` (not HTTP).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any, Protocol

import httpx

from ringfence.exceptions import UpstreamError
from ringfence.server._wire import Json, error_body, loads

_PASS_THROUGH = frozenset({400, 404, 413, 422, 429})
_JSON_HEADERS = {"content-type": "application/json"}


class UpstreamStream(Protocol):
    """A streamed upstream response: its status, then its body as it arrives."""

    status: int

    def chunks(self) -> AsyncIterator[bytes]:
        """The body in the pieces the network delivers (decoded if it was compressed)."""
        ...

    async def read(self) -> bytes: ...

    async def aclose(self) -> None: ...


class Upstream(Protocol):
    """The proxy's client for one OpenAI base URL; paths are relative to it (``models``)."""

    async def send(
        self, method: str, path: str, body: bytes | None = None, *, timeout: float | None = None
    ) -> tuple[int, bytes]:
        """(status, body) of a complete request; ``body`` is JSON."""
        ...

    async def stream(self, path: str, body: bytes) -> UpstreamStream:
        """POST ``body`` (JSON) and return once the response head is in."""
        ...

    async def aclose(self) -> None: ...


def make_upstream(
    base_url: str,
    *,
    timeout_s: float,
    api_key: str | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    max_connections: int = 256,
) -> Upstream:
    """The client for ``base_url`` (e.g. ``http://h:8000/v1``): httpx over ``transport`` when
    one is given, else aiohttp. Call it on the event loop that will use the client."""
    if transport is not None:
        return HttpxUpstream(
            base_url,
            timeout_s=timeout_s,
            api_key=api_key,
            transport=transport,
            max_connections=max_connections,
        )
    from ringfence.server._upstream_aiohttp import AiohttpUpstream

    return AiohttpUpstream(
        base_url, timeout_s=timeout_s, api_key=api_key, max_connections=max_connections
    )


def auth_headers(api_key: str | None) -> dict[str, str]:
    return {"authorization": f"Bearer {api_key}"} if api_key else {}


class SseParser:
    """A server-sent event stream, incrementally: bytes in, complete ``data`` payloads out
    (multi-line data joined by LF; other fields ignored). Lines end at CR, LF or CRLF only: a
    JSON string may hold U+2028, which ``str.splitlines`` would break on."""

    def __init__(self) -> None:
        self._rest = b""
        self._data: list[bytes] = []

    def feed(self, chunk: bytes) -> list[bytes]:
        """The payloads that ``chunk`` completes."""
        buf = self._rest + chunk
        if b"\n" not in buf and b"\r" not in buf:
            self._rest = buf
            return []
        lines = buf.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")
        if buf.endswith(b"\r"):  # its LF may come in the next chunk: decide then
            lines[-2:] = [lines[-2] + b"\r"]
        self._rest = lines.pop()
        return self._lines(lines)

    def close(self) -> list[bytes]:
        """The stream ended: what an unterminated last line or event still holds."""
        out = self._lines([self._rest.removesuffix(b"\r")] if self._rest else [])
        self._rest = b""
        if self._data:
            out.append(b"\n".join(self._data))
            self._data = []
        return out

    def _lines(self, lines: list[bytes]) -> list[bytes]:
        out = []
        for line in lines:
            if not line:
                if self._data:
                    out.append(b"\n".join(self._data))
                    self._data = []
            elif line.startswith(b"data:"):
                self._data.append(line[6:] if line[5:6] == b" " else line[5:])
        return out


# --- httpx -----------------------------------------------------------------------------------


class HttpxUpstream:
    """:class:`Upstream` over an httpx transport, called directly: no client layer, so no
    cookie jar and no redirects (the transport decides how requests travel)."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout_s: float,
        api_key: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        max_connections: int = 256,
    ) -> None:
        limits = httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        )
        self.transport = transport or httpx.AsyncHTTPTransport(limits=limits)
        self.base = base_url.rstrip("/") + "/"
        self._headers = auth_headers(api_key)
        self._timeout = httpx.Timeout(timeout_s, connect=min(timeout_s, 10.0)).as_dict()

    def _request(
        self, method: str, path: str, body: bytes | None, timeout: float | None
    ) -> httpx.Request:
        headers = {**self._headers, **(_JSON_HEADERS if body is not None else {})}
        limits = self._timeout if timeout is None else httpx.Timeout(timeout).as_dict()
        return httpx.Request(
            method, self.base + path, content=body, headers=headers, extensions={"timeout": limits}
        )

    async def send(
        self, method: str, path: str, body: bytes | None = None, *, timeout: float | None = None
    ) -> tuple[int, bytes]:
        try:
            resp = await self.transport.handle_async_request(
                self._request(method, path, body, timeout)
            )
            try:
                return resp.status_code, await resp.aread()
            finally:
                await resp.aclose()
        except httpx.HTTPError as exc:
            raise map_transport_error(exc) from exc

    async def stream(self, path: str, body: bytes) -> UpstreamStream:
        request = self._request("POST", path, body, None)
        try:
            return _HttpxStream(await self.transport.handle_async_request(request))
        except httpx.HTTPError as exc:
            raise map_transport_error(exc) from exc

    async def aclose(self) -> None:
        await self.transport.aclose()


class _HttpxStream:
    def __init__(self, resp: httpx.Response) -> None:
        self.resp = resp
        self.status = resp.status_code

    async def chunks(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self.resp.aiter_bytes():
                yield chunk
        except httpx.HTTPError as exc:
            raise map_transport_error(exc) from exc

    async def read(self) -> bytes:
        try:
            return await self.resp.aread()
        except httpx.HTTPError as exc:
            raise map_transport_error(exc) from exc

    async def aclose(self) -> None:
        await self.resp.aclose()


def map_transport_error(exc: httpx.HTTPError) -> UpstreamError:
    """An httpx failure as an :class:`UpstreamError` with its ``kind``."""
    if isinstance(exc, httpx.TimeoutException):
        return UpstreamError(f"upstream timed out ({type(exc).__name__})", "timeout")
    if isinstance(exc, httpx.ConnectError):
        return UpstreamError("upstream is unreachable", "connect")
    if isinstance(exc, httpx.ReadError | httpx.RemoteProtocolError | httpx.WriteError):
        return UpstreamError(f"upstream connection failed ({type(exc).__name__})", "reset")
    return UpstreamError(f"upstream request failed ({type(exc).__name__})", "protocol")


# --- errors ----------------------------------------------------------------------------------


def error_response(err: UpstreamError) -> tuple[int, Json]:
    """(status, OpenAI-style body) for an upstream failure."""
    status = 504 if err.kind == "timeout" else 502
    return status, error_body(str(err), "upstream_error", f"upstream_{err.kind}")


def status_error(status: int, content: bytes) -> tuple[int, Json]:
    """An upstream HTTP error: request errors (400, 404, 413, 422, 429) pass through with the
    upstream's error object; anything else (its auth, its 5xx) is a 502."""
    body: Any = None
    with contextlib.suppress(ValueError):
        body = loads(content)
    if status in _PASS_THROUGH and isinstance(body, dict) and isinstance(body.get("error"), dict):
        return status, body
    return 502, error_body(f"upstream answered HTTP {status}", "upstream_error", "upstream_status")


def parse_json(content: bytes) -> Json:
    try:
        data = loads(content)
    except ValueError as exc:
        raise UpstreamError("upstream sent a body that is not JSON", "protocol") from exc
    if not isinstance(data, dict):
        raise UpstreamError("upstream sent JSON that is not an object", "protocol")
    return data


async def read_quietly(stream: UpstreamStream) -> bytes:
    """The rest of a response whose body only explains an error (empty if it breaks)."""
    try:
        return await stream.read()
    except UpstreamError:
        return b""
    finally:
        with contextlib.suppress(Exception):
            await stream.aclose()
