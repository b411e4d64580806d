"""The default upstream client: aiohttp (see :mod:`ringfence.server._upstream` for why).

It behaves as the httpx client does: HTTP/1.1 keep-alive pool, no redirects, no cookie jar,
``upstream_timeout`` for the connection (at most 10 s) and between received bytes, proxies from
``HTTP_PROXY`` / ``HTTPS_PROXY`` / ``ALL_PROXY`` / ``NO_PROXY`` (read once, at start), and
certifi's CA bundle (``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` honoured) for ``https`` upstreams.
"""

from __future__ import annotations

import urllib.request
from collections.abc import AsyncIterator

import aiohttp
import httpx
from yarl import URL

from ringfence.exceptions import UpstreamError
from ringfence.server._upstream import UpstreamStream, auth_headers

_KEEPALIVE_S = 5.0  # httpx's default keep-alive expiry: idle connections are not reused later


class AiohttpUpstream:
    """:class:`~ringfence.server._upstream.Upstream` over an aiohttp session. Create it on the
    event loop that will use it."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout_s: float,
        api_key: str | None = None,
        max_connections: int = 256,
    ) -> None:
        self.base = URL(base_url.rstrip("/") + "/")
        self._timeout = aiohttp.ClientTimeout(
            total=None, connect=min(timeout_s, 10.0), sock_read=timeout_s
        )
        self._headers = auth_headers(api_key)
        self._json_headers = {**self._headers, "content-type": "application/json"}
        self._proxy = env_proxy(self.base)
        self._urls: dict[str, URL] = {}
        ssl = httpx.create_ssl_context() if self.base.scheme == "https" else True
        connector = aiohttp.TCPConnector(
            limit=max_connections, keepalive_timeout=_KEEPALIVE_S, ssl=ssl
        )
        self.session = aiohttp.ClientSession(
            connector=connector,
            timeout=self._timeout,
            cookie_jar=aiohttp.DummyCookieJar(),  # one client's cookies never reach another's
        )

    def _url(self, path: str) -> URL:
        url = self._urls.get(path)
        if url is None:
            url = self._urls[path] = self.base.join(URL(path))
        return url

    async def send(
        self, method: str, path: str, body: bytes | None = None, *, timeout: float | None = None
    ) -> tuple[int, bytes]:
        headers = self._json_headers if body is not None else self._headers
        limit = self._timeout if timeout is None else aiohttp.ClientTimeout(total=timeout)
        try:
            async with self.session.request(
                method,
                self._url(path),
                data=body,
                headers=headers,
                timeout=limit,
                allow_redirects=False,
                proxy=self._proxy,
            ) as resp:
                return resp.status, await resp.read()
        except (aiohttp.ClientError, OSError) as exc:  # TimeoutError is an OSError
            raise map_aiohttp_error(exc) from exc

    async def stream(self, path: str, body: bytes) -> UpstreamStream:
        try:
            resp = await self.session.request(
                "POST",
                self._url(path),
                data=body,
                headers=self._json_headers,
                allow_redirects=False,
                proxy=self._proxy,
            )
        except (aiohttp.ClientError, OSError) as exc:
            raise map_aiohttp_error(exc) from exc
        return _AiohttpStream(resp)

    async def aclose(self) -> None:
        await self.session.close()


class _AiohttpStream:
    def __init__(self, resp: aiohttp.ClientResponse) -> None:
        self.resp = resp
        self.status = resp.status

    async def chunks(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self.resp.content.iter_any():
                yield chunk
        except (aiohttp.ClientError, OSError) as exc:
            raise map_aiohttp_error(exc) from exc

    async def read(self) -> bytes:
        try:
            return await self.resp.read()
        except (aiohttp.ClientError, OSError) as exc:
            raise map_aiohttp_error(exc) from exc

    async def aclose(self) -> None:
        if self.resp.content.at_eof():
            self.resp.release()  # read to the end: the connection goes back to the pool
        else:
            self.resp.close()  # cut short: unread data must not reach the next request


def map_aiohttp_error(exc: BaseException) -> UpstreamError:
    """An aiohttp failure as an :class:`UpstreamError` with its ``kind`` (as for httpx)."""
    name = type(exc).__name__
    if isinstance(exc, TimeoutError):
        return UpstreamError(f"upstream timed out ({name})", "timeout")
    if isinstance(exc, aiohttp.ClientConnectorError):
        return UpstreamError("upstream is unreachable", "connect")
    if isinstance(exc, aiohttp.ClientConnectionError | aiohttp.ClientPayloadError | OSError):
        return UpstreamError(f"upstream connection failed ({name})", "reset")
    return UpstreamError(f"upstream request failed ({name})", "protocol")


def env_proxy(url: URL) -> str | None:
    """The proxy the environment names for ``url`` (as httpx reads it), or ``None``."""
    proxies = urllib.request.getproxies()
    proxy = proxies.get(url.scheme) or proxies.get("all")
    if not proxy or urllib.request.proxy_bypass(url.host or ""):
        return None
    return proxy
