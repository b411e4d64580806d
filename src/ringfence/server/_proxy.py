"""The OpenAI-compatible guarding proxy: a Starlette app in front of a model endpoint.

``POST /v1/chat/completions`` (streaming or not), ``GET /v1/models``, ``GET /healthz``,
``GET /readyz`` and ``GET /metrics``. Every chat request: authenticate the key -> rate limit ->
read the body within the size limit -> label and check the conversation -> upstream -> check
and decide the response -> client. Failures anywhere fail closed.

Where the steps run (:meth:`Proxy._step`): checking a request or a text-only answer is bounded
CPU work when the guards are (the built-in ones are), and a thread hand-off costs more than
the guards, so it runs on the event loop; a durable audit append it makes (a guard that
blocks or errors) is committed in a worker thread before the answer leaves. Steps that may
wait run in a worker thread: deciding tool calls (durable decisions, cap reservations,
approvals), guards that run in threads, and texts over ``INLINE_MAX_BYTES``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import anyio
import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from ringfence.approval import ApprovalQueue
from ringfence.exceptions import ApprovalError, UpstreamError
from ringfence.gateway import Gateway
from ringfence.policy import Principal
from ringfence.server._exchange import Exchange, Refusal, proxy_spec
from ringfence.server._guarding import ContentChecker, Direction, SessionGuards, checks_inline
from ringfence.server._keys import Client, KeyRing
from ringfence.server._limits import RateLimiter
from ringfence.server._logs import since_ms
from ringfence.server._metrics import Metrics
from ringfence.server._stream import StreamFilter
from ringfence.server._upstream import (
    SseParser,
    Upstream,
    UpstreamStream,
    error_response,
    make_upstream,
    parse_json,
    read_quietly,
    status_error,
)
from ringfence.server._wire import Json, dumps, error_body, loads, sse

log = logging.getLogger("ringfence.server.proxy")

SESSION_HEADER = "x-ringfence-session"
INLINE_MAX_BYTES = 16 * 1024
"""Largest request / answer whose checks run on the event loop. Guards are linear in the text:
with the default guards 16 KiB takes about 1.3 ms as a user message and 4.5 ms as an answer
(development machine), about one GIL switch interval (5 ms), which is how long a worker
thread doing the same work would keep the loop waiting anyway. Larger texts go to a worker
thread, where the loop gets a turn at least every switch interval."""
T = TypeVar("T")
CHAT = "/v1/chat/completions"
CLAIM = "/v1/ringfence/approvals/{request_id}/claim"


@dataclass
class ProxyConfig:
    """Everything the proxy app needs. ``keys=None`` means no authentication: every request
    acts for ``anonymous`` (use only on loopback)."""

    gateway: Gateway
    upstream: str
    keys: KeyRing | None = None
    checker: ContentChecker = field(default_factory=SessionGuards)
    upstream_key: str | None = None
    anonymous: Principal = field(default_factory=lambda: Principal("anonymous"))
    transport: httpx.AsyncBaseTransport | None = None
    """An httpx transport to reach the upstream through (tests' mock transports); ``None``: the
    default aiohttp client."""
    metrics: Metrics = field(default_factory=Metrics)
    approvals: ApprovalQueue | None = None
    """The gateway's approval queue; enables the claim endpoint for approved calls."""
    clock: Callable[[], float] = time.monotonic


class Proxy:
    def __init__(self, config: ProxyConfig) -> None:
        self.config = config
        self.spec = proxy_spec(config.gateway)
        self.metrics = config.metrics
        self.limiter = RateLimiter(config.clock)
        self.client: Upstream | None = None
        self._ready_cache: tuple[float, bool, str] = (0.0, False, "not checked")
        gateway, checker = config.gateway, config.checker
        self.inline_request = checks_inline(checker, gateway, ("input", "untrusted"))
        self.inline_output = checks_inline(checker, gateway, ("output",))

    async def _step(self, inline: bool, fn: Callable[..., T], *args: Any) -> T:
        """Run one synchronous step of an exchange: in a worker thread, or (``inline``) on the
        event loop with durable audit appends deferred, then committed in a worker thread
        before this returns or raises, so nothing that depends on them leaves earlier."""
        if not inline:
            return await anyio.to_thread.run_sync(fn, *args)
        audit = self.config.gateway.audit
        deferred = None
        try:
            with audit.deferring() as deferred:  # no await inside: the deferral is per thread
                return fn(*args)
        finally:
            if deferred is not None and deferred.count:
                await anyio.to_thread.run_sync(audit.flush)

    # --- lifecycle -------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def lifespan(self, _app: Starlette) -> AsyncIterator[None]:
        self.client = make_upstream(
            self.config.upstream,
            timeout_s=self.spec.upstream_timeout,
            api_key=self.config.upstream_key,
            transport=self.config.transport,
        )
        try:
            yield
        finally:
            await self.client.aclose()
            self.config.gateway.audit.flush()

    def app(self) -> Starlette:
        routes = [
            Route(CHAT, self.chat, methods=["POST"]),
            Route("/v1/models", self.models, methods=["GET"]),
            Route(CLAIM, self.claim, methods=["POST"]),
            Route("/healthz", self.healthz, methods=["GET"]),
            Route("/readyz", self.readyz, methods=["GET"]),
            Route("/metrics", self.metrics_endpoint, methods=["GET"]),
        ]
        return Starlette(routes=routes, lifespan=self.lifespan)

    # --- auth, limits, body ----------------------------------------------------------------

    def _authenticate(self, request: Request) -> Client | JSONResponse:
        if self.config.keys is None:
            return Client(self.config.anonymous)
        header = request.headers.get("authorization", "")
        key = header[7:].strip() if header.lower().startswith("bearer ") else None
        client = self.config.keys.authenticate(key)
        if client is None:
            return _error(
                401,
                error_body("invalid or missing API key", "authentication_error", "invalid_api_key"),
            )
        limit = client.rate_limit_per_minute or self.spec.rate_limit_per_minute
        ok, retry = self.limiter.allow(client.principal.id, limit)
        if not ok:
            self.metrics.rate_limited.inc()
            resp = _error(
                429,
                error_body(
                    "rate limit exceeded for this key", "rate_limit_error", "rate_limit_exceeded"
                ),
            )
            resp.headers["retry-after"] = str(max(1, round(retry)))
            return resp
        return client

    async def _read_body(self, request: Request) -> tuple[Json, int] | JSONResponse:
        """The request's JSON object and its size in bytes, or the error to answer."""
        limit = self.spec.max_request_bytes
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            return _too_large(limit)
        chunks, size = [], 0
        async for part in request.stream():
            size += len(part)
            if size > limit:
                return _too_large(limit)
            chunks.append(part)
        try:
            body = loads(b"".join(chunks))
        except ValueError:
            return _error(
                400,
                error_body(
                    "the request body is not valid JSON", "invalid_request_error", "invalid_json"
                ),
            )
        if not isinstance(body, dict):
            return _error(
                400,
                error_body(
                    "the request body must be a JSON object",
                    "invalid_request_error",
                    "invalid_json",
                ),
            )
        return body, size

    # --- chat completions ------------------------------------------------------------------

    async def chat(self, request: Request) -> Response:
        started = time.perf_counter()
        self.metrics.inflight.inc()
        response: Response | None = None
        exchange: Exchange | None = None
        try:
            response, exchange = await self._chat(request)
            return response
        finally:
            self.metrics.inflight.inc(amount=-1)
            status = response.status_code if response is not None else 500
            self.metrics.requests.inc(CHAT, str(status))
            self.metrics.request_latency.observe(time.perf_counter() - started, CHAT)
            log.info(
                "chat",
                extra={
                    "request_id": exchange.request_id if exchange else None,
                    "principal": exchange.principal.id if exchange else None,
                    "status": status,
                    "stream": exchange.stream if exchange else None,
                    "latency_ms": since_ms(started),
                },
            )

    async def _chat(self, request: Request) -> tuple[Response, Exchange | None]:
        client = self._authenticate(request)
        if isinstance(client, Response):
            return client, None
        read = await self._read_body(request)
        if isinstance(read, Response):
            return read, None
        body, size = read
        cfg = self.config
        exchange = Exchange(
            cfg.gateway,
            cfg.checker,
            self.metrics,
            client.principal,
            body,
            request.headers.get(SESSION_HEADER),
        )
        inline = self.inline_request and size <= INLINE_MAX_BYTES
        try:
            prepared = await self._step(inline, exchange.prepare)
        except Exception as exc:  # labelling or checks failed: fail closed
            log.exception("request checks failed", extra={"request_id": exchange.request_id})
            return _error(
                500,
                error_body(
                    f"request checks failed: {type(exc).__name__}", "server_error", "check_failed"
                ),
            ), exchange
        if isinstance(prepared, Refusal):
            return _refusal_response(prepared), exchange
        if exchange.stream:
            return await self._stream(exchange, prepared), exchange
        return await self._complete(exchange, prepared), exchange

    async def _complete(self, exchange: Exchange, body: Json) -> Response:
        assert self.client is not None
        started = time.perf_counter()
        try:
            status, content = await self.client.send("POST", "chat/completions", dumps(body))
            self.metrics.upstream_latency.observe(time.perf_counter() - started)
            if status != 200:
                self.metrics.upstream_errors.inc("status")
                return _error(*status_error(status, content))
            upstream = parse_json(content)
        except UpstreamError as exc:
            return self._upstream_failed(exc)
        inline = self.inline_output and len(content) <= INLINE_MAX_BYTES
        try:
            inline = inline and not calls_tools(upstream)
            status, out = await self._step(inline, exchange.respond, upstream)
        except Exception as exc:
            log.exception("response checks failed", extra={"request_id": exchange.request_id})
            return _error(
                500,
                error_body(
                    f"response checks failed: {type(exc).__name__}", "server_error", "check_failed"
                ),
            )
        return _json(status, out)

    def _upstream_failed(self, err: UpstreamError) -> Response:
        self.metrics.upstream_errors.inc(err.kind)
        return _error(*error_response(err))

    async def _stream(self, exchange: Exchange, body: Json) -> Response:
        assert self.client is not None
        started = time.perf_counter()
        try:
            resp = await self.client.stream("chat/completions", dumps(body))
        except UpstreamError as exc:
            return self._upstream_failed(exc)
        self.metrics.upstream_latency.observe(time.perf_counter() - started)
        if resp.status != 200:
            content = await read_quietly(resp)
            self.metrics.upstream_errors.inc("status")
            return _error(*status_error(resp.status, content))
        return StreamingResponse(
            self._relay(exchange, resp),
            media_type="text/event-stream",
            headers={"cache-control": "no-cache"},
        )

    async def _relay(self, exchange: Exchange, resp: UpstreamStream) -> AsyncIterator[bytes]:
        """Upstream events in, checked events out. Tool calls leave only after the decision.
        What one network read brings is checked together and sent as one write."""
        flt, parser = exchange.stream_filter(), SseParser()
        done, failed = False, None
        try:
            async for raw in resp.chunks():
                if payloads := parser.feed(raw):
                    out, done, failed = await self._step(self.inline_output, feed, flt, payloads)
                    if out:
                        yield out
                    if done or failed:
                        break
            else:
                out, done, failed = await self._step(self.inline_output, feed, flt, parser.close())
                if out:
                    yield out
            if failed is not None:
                raise failed
            if not done and not flt.finished_choices():
                raise UpstreamError("upstream stream ended before it finished", "reset")
            inline = self.inline_output and flt.text_size() <= INLINE_MAX_BYTES
            yield b"".join(await self._step(inline and not flt.has_tool_calls(), flt.finish))
        except UpstreamError as exc:
            yield self._stream_error(exc)
        except ValueError as exc:  # a chunk that is not JSON
            yield self._stream_error(UpstreamError(f"bad upstream chunk: {exc}", "protocol"))
        finally:
            await resp.aclose()

    def _stream_error(self, err: UpstreamError) -> bytes:
        self.metrics.upstream_errors.inc(err.kind)
        return sse(error_response(err)[1])

    # --- approvals ----------------------------------------------------------------------------

    async def claim(self, request: Request) -> Response:
        """Hand an approved call to the app that proposed it, exactly once."""
        client = self._authenticate(request)
        if isinstance(client, Response):
            return client
        queue = self.config.approvals
        if queue is None:
            return _error(
                404,
                error_body(
                    "approvals are not enabled", "invalid_request_error", "approvals_disabled"
                ),
            )
        rid = str(request.path_params["request_id"])
        result = await anyio.to_thread.run_sync(
            claim_approved, queue, self.config.gateway, rid, client.principal.id
        )
        return _json(*result)

    # --- models, health, metrics -----------------------------------------------------------

    async def models(self, request: Request) -> Response:
        client = self._authenticate(request)
        if isinstance(client, Response):
            return client
        assert self.client is not None
        try:
            status, content = await self.client.send("GET", "models")
            if status != 200:
                return _error(*status_error(status, content))
            return _json(200, parse_json(content))
        except UpstreamError as exc:
            return self._upstream_failed(exc)

    async def healthz(self, _request: Request) -> Response:
        return _json(200, {"status": "ok"})

    async def readyz(self, _request: Request) -> Response:
        checks = {
            "store": _store_ok(self.config.gateway),
            "guards": _guards_ok(self.config),
            "upstream": await self._upstream_ok(),
        }
        ready = all(ok for ok, _ in checks.values())
        body = {
            "ready": ready,
            "checks": {k: {"ok": ok, "detail": d} for k, (ok, d) in checks.items()},
        }
        return _json(200 if ready else 503, body)

    async def _upstream_ok(self) -> tuple[bool, str]:
        stamp, ok, detail = self._ready_cache
        if time.monotonic() - stamp < 5.0:
            return ok, detail
        assert self.client is not None
        try:
            status, _ = await self.client.send("GET", "models", timeout=2.0)
            ok, detail = status == 200, f"HTTP {status}"
        except UpstreamError as exc:
            ok, detail = False, str(exc)
        self._ready_cache = (time.monotonic(), ok, detail)
        return ok, detail

    async def metrics_endpoint(self, _request: Request) -> Response:
        return Response(self.metrics.render(), media_type="text/plain; version=0.0.4")


def feed(flt: StreamFilter, payloads: list[bytes]) -> tuple[bytes, bool, Exception | None]:
    """Upstream event payloads into the stream filter: (the events to send, whether ``[DONE]``
    came, the failure that ends the stream after those events)."""
    out: list[bytes] = []
    try:
        for data in payloads:
            if data.strip() == b"[DONE]":
                return b"".join(out), True, None
            chunk = loads(data)
            if isinstance(chunk, dict) and chunk.get("error"):
                raise UpstreamError("upstream reported an error mid-stream", "status")
            out.extend(flt.feed(chunk))
    except (UpstreamError, ValueError) as exc:  # ValueError: a chunk that is not JSON
        return b"".join(out), False, exc
    return b"".join(out), False, None


def calls_tools(upstream: Json) -> bool:
    """Whether a chat completion proposes tool calls (or has a shape that is not understood:
    the checks then run where they may write durably)."""
    choices = upstream.get("choices") or []
    if not isinstance(choices, list):
        return True
    for choice in choices:
        message = choice.get("message") if isinstance(choice, Mapping) else None
        if not isinstance(message, Mapping) or message.get("tool_calls"):
            return True
    return False


def claim_approved(
    queue: ApprovalQueue, gateway: Gateway, request_id: str, principal: str
) -> tuple[int, Json]:
    """(status, body): the approved tool call to execute, or why there is none."""
    try:
        queue.expire_due(ids=[request_id])
        req = queue.get(request_id)
    except ApprovalError:
        req = None
    if req is None or req.principal.id != principal:
        return 404, error_body("no such approval request", "invalid_request_error", "not_found")
    if req.state != "approved":
        body = error_body(
            f"the request is {req.state}, not approved",
            "invalid_request_error",
            f"approval_{req.state}",
        )
        return 409, body
    req, won = queue.claim(request_id, execution="delegated", audit=gateway.audit)
    if not won:
        return 409, error_body(
            "the approved call was already claimed", "invalid_request_error", "approval_executed"
        )
    call = {
        "id": req.call_id,
        "type": "function",
        "function": {"name": req.tool, "arguments": json.dumps(req.args)},
    }
    return 200, {"approval": {"id": req.id, "state": req.state}, "tool_call": call}


def _store_ok(gateway: Gateway) -> tuple[bool, str]:
    try:
        with gateway.store.read() as conn:
            conn.execute("SELECT 1").fetchone()
    except Exception as exc:
        return False, f"{type(exc).__name__}: {exc}"
    return True, gateway.store.path


def _guards_ok(config: ProxyConfig) -> tuple[bool, str]:
    pipeline = config.gateway.guards
    if isinstance(config.checker, SessionGuards) and pipeline is None:
        return False, "the gateway has no guard pipeline: every check fails closed"
    if not isinstance(config.checker, SessionGuards) or pipeline is None:
        return True, type(config.checker).__name__
    directions: tuple[Direction, ...] = ("input", "untrusted", "output")
    return True, "; ".join(f"{d}: {','.join(pipeline.guards(d)) or '-'}" for d in directions)


def _json(status: int, body: Any) -> Response:
    return Response(dumps(body), status_code=status, media_type="application/json")


def _error(status: int, body: Json) -> JSONResponse:
    return JSONResponse(body, status_code=status)


def _too_large(limit: int) -> JSONResponse:
    return _error(
        413,
        error_body(
            f"request body larger than {limit} bytes", "invalid_request_error", "request_too_large"
        ),
    )


def _refusal_response(refusal: Refusal) -> Response:
    if refusal.stream is not None:
        chunks = refusal.stream

        async def gen() -> AsyncIterator[bytes]:
            for c in chunks:
                yield c

        return StreamingResponse(gen(), media_type="text/event-stream")
    return _json(refusal.status, refusal.body)


def build_app(config: ProxyConfig) -> Starlette:
    """The proxy as an ASGI app (serve it with uvicorn)."""
    return Proxy(config).app()
