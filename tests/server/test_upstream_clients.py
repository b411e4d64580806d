"""The upstream clients: line splitting, SSE payloads, error kinds, and the httpx transport seam
(the default aiohttp client is exercised end to end by the other proxy tests)."""

from __future__ import annotations

import asyncio
import itertools
import json

import aiohttp
import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from proxy_helpers import PATTERNS, make_gateway, sse_events, user

from ringfence.exceptions import UpstreamError
from ringfence.server import PatternChecker, ProxyConfig, build_app
from ringfence.server._running import serve_in_thread
from ringfence.server._upstream import HttpxUpstream, SseParser
from ringfence.server._upstream_aiohttp import AiohttpUpstream, env_proxy, map_aiohttp_error
from ringfence.server._wire import DONE, sse


def _pieces(data: bytes, cuts: list[int]) -> list[bytes]:
    bounds = [0, *sorted({c % (len(data) + 1) for c in cuts}), len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds)]


def _payloads(data: bytes, cuts: list[int]) -> list[bytes]:
    parser = SseParser()
    out = [p for piece in _pieces(data, cuts) for p in parser.feed(piece)]
    return out + parser.close()


def _reference(data: bytes) -> list[bytes]:
    """SSE payloads from the whole stream, its lines split as bytes split them (CR, LF, CRLF)."""
    out, buf = [], []
    for line in data.splitlines():
        if not line and buf:
            out.append(b"\n".join(buf))
            buf = []
        elif line.startswith(b"data:"):
            buf.append(line[5:].removeprefix(b" "))
    return out + ([b"\n".join(buf)] if buf else [])


@given(
    st.lists(
        st.sampled_from(["data: a", "data:{}", ": note", "event: x", "\u2028", "\n", "\r\n", "\r"]),
        max_size=16,
    ),
    st.lists(st.integers(min_value=0, max_value=200), max_size=6),
)
def test_payloads_are_the_same_however_the_stream_is_cut(parts, cuts):
    data = "".join(parts).encode()
    assert _payloads(data, cuts) == _reference(data)


def test_line_breaks_inside_json_strings_do_not_split_an_event():
    event = sse({"content": "a\u2028b\u0085c\u2029d"})
    assert event.isascii()  # the separators are escaped
    (payload,) = _payloads(event, [9, 10, 11])
    assert json.loads(payload) == {"content": "a\u2028b\u0085c\u2029d"}
    raw = 'data: {"content":"a\u2028b"}\n\n'.encode()  # an upstream that does not escape them
    assert _payloads(raw, []) == [raw[6:-2]]


def test_multi_line_data_is_joined_and_an_unterminated_event_still_counts():
    stream = b": hi\nevent: x\ndata: a\ndata:b\n\ndata: [DONE]"
    assert _payloads(stream, [3]) == [b"a\nb", b"[DONE]"]


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (aiohttp.SocketTimeoutError("read"), "timeout"),
        (aiohttp.ConnectionTimeoutError("connect"), "timeout"),
        (TimeoutError(), "timeout"),
        (aiohttp.ServerDisconnectedError(), "reset"),
        (aiohttp.ClientPayloadError("cut"), "reset"),
        (ConnectionResetError(), "reset"),
        (aiohttp.ClientResponseError(None, (), status=400), "protocol"),  # type: ignore[arg-type]
    ],
)
def test_aiohttp_failures_get_the_kinds_httpx_failures_get(exc, kind):
    assert map_aiohttp_error(exc).kind == kind


def test_unreachable_upstream_is_a_connect_error():
    async def go() -> None:
        client = AiohttpUpstream("http://127.0.0.1:9/v1", timeout_s=5)
        try:
            await client.send("GET", "models")
        finally:
            await client.aclose()

    with pytest.raises(UpstreamError) as err:
        asyncio.run(go())
    assert err.value.kind == "connect"


def test_proxies_come_from_the_environment(monkeypatch):
    from yarl import URL

    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.test:3128")
    monkeypatch.setenv("NO_PROXY", "internal.test")
    assert env_proxy(URL("https://api.example.com/v1/")) == "http://proxy.test:3128"
    assert env_proxy(URL("https://internal.test/v1/")) is None
    assert env_proxy(URL("http://api.example.com/v1/")) is None


def _completion(text: str) -> dict:
    message = {"role": "assistant", "content": text}
    return {"id": "c1", "object": "chat.completion", "created": 1, "model": "m",
            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}]}  # fmt: skip


def _chunk(delta: dict, finish: str | None = None) -> bytes:
    choice = {"index": 0, "delta": delta, "finish_reason": finish}
    return sse({"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m",
                "choices": [choice]})  # fmt: skip


def _upstream(request: httpx.Request) -> httpx.Response:
    body = json.loads(request.content)
    assert request.headers["content-type"] == "application/json"
    assert request.headers["authorization"] == "Bearer up-key"
    text = body["messages"][-1]["content"]
    if text == "boom":
        raise httpx.ReadError("connection reset")
    if body.get("stream"):
        events = _chunk({"role": "assistant", "content": text}) + _chunk({}, "stop") + DONE
        return httpx.Response(200, content=events.replace(b"\n", b"\r\n"))
    return httpx.Response(200, json=_completion(text))


def test_a_given_httpx_transport_carries_the_upstream_traffic():
    gateway = make_gateway()
    config = ProxyConfig(
        gateway=gateway,
        upstream="http://model.test/v1",
        checker=PatternChecker(PATTERNS),
        upstream_key="up-key",
        transport=httpx.MockTransport(_upstream),
    )
    url = "/v1/chat/completions"
    with serve_in_thread(build_app(config)) as base, httpx.Client(base_url=base) as client:
        r = client.post(url, json={"model": "m", "messages": [user("hello")]})
        assert r.status_code == 200 and r.json()["choices"][0]["message"]["content"] == "hello"
        r = client.post(url, json={"model": "m", "stream": True, "messages": [user("hi there")]})
        texts = [
            e["choices"][0]["delta"].get("content") for e in sse_events(r)[:-2] if e["choices"]
        ]
        assert "".join(t for t in texts if t) == "hi there" and sse_events(r)[-1] == "[DONE]"
        r = client.post(url, json={"model": "m", "messages": [user("boom")]})
        assert r.status_code == 502 and r.json()["error"]["code"] == "upstream_reset"
    gateway.close()


def test_httpx_client_maps_its_failures():
    def fail(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    async def go() -> None:
        client = HttpxUpstream("http://m.test/v1", timeout_s=1, transport=httpx.MockTransport(fail))
        try:
            await client.send("POST", "chat/completions", b"{}")
        finally:
            await client.aclose()

    with pytest.raises(UpstreamError) as err:
        asyncio.run(go())
    assert err.value.kind == "timeout"


def _cookie_server():
    import http.server
    import threading

    seen: list[str | None] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append(self.headers.get("cookie"))
            self.send_response(200)
            self.send_header("set-cookie", "session=alice-secret; Path=/")
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, seen


@pytest.mark.parametrize("kind", ["aiohttp", "httpx"])
def test_cookies_an_upstream_sets_are_not_sent_with_later_requests(kind):
    server, seen = _cookie_server()
    base = f"http://127.0.0.1:{server.server_address[1]}/v1"

    async def go() -> None:
        client = (
            AiohttpUpstream(base, timeout_s=5)
            if kind == "aiohttp"
            else HttpxUpstream(base, timeout_s=5, transport=httpx.AsyncHTTPTransport())
        )
        try:
            for _ in range(2):
                assert (await client.send("GET", "models"))[0] == 200
        finally:
            await client.aclose()

    try:
        asyncio.run(go())
    finally:
        server.shutdown()
    assert seen == [None, None]
