"""``ringfence mock-upstream``: a deterministic OpenAI-compatible fake model endpoint.

It answers ``POST /v1/chat/completions`` (streaming or not) and ``GET /v1/models`` from a
script: the first rule whose ``match`` occurs in the last user message (case-insensitive)
decides the reply; a request may also carry ``"mock": {...}`` (a reply object) in its body.
Faults for tests and benchmarks: ``stall`` (never answer), ``reset`` (TCP reset), and their
``*_after`` forms that first send ``fault_after`` stream events. It is a small HTTP/1.1 server
on asyncio streams (keep-alive, content-length bodies), so resets are real resets.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import socket
import struct
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ringfence.exceptions import ConfigError

Fault = Literal["stall", "reset", "stall_after", "reset_after"]


class MockToolCall(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    """Tool name."""
    arguments: dict[str, Any] | str = Field(default_factory=dict)
    """Arguments (an object, or a raw string to emit as-is, e.g. invalid JSON)."""
    id: str | None = None
    """Call id (default: call_N)."""


class MockReply(BaseModel):
    """What the mock answers."""

    model_config = ConfigDict(extra="forbid")
    text: str | None = None
    """Assistant text (default: echo of the last user message when no tool calls are given)."""
    tool_calls: list[MockToolCall] = Field(default_factory=list)
    """Tool calls to propose."""
    fault: Fault | None = None
    """Misbehave: stall, reset, stall_after, reset_after."""
    fault_after: int = Field(default=1, ge=0)
    """For *_after faults: stream events sent before the fault."""
    status: int | None = None
    """Answer with this HTTP error status and an OpenAI-style error body."""
    latency_ms: float | None = None
    """Overrides the script's latency_ms for this reply."""


class MockRule(MockReply):
    match: str
    """Substring of the last user message (case-insensitive) that selects this rule."""


class MockScript(BaseModel):
    """A mock-upstream script (YAML or JSON)."""

    model_config = ConfigDict(extra="forbid")
    model: str = "mock-model"
    latency_ms: float = Field(default=0.0, ge=0)
    """Delay before the response head."""
    chunk_delay_ms: float = Field(default=0.0, ge=0)
    """Delay between stream events."""
    chunk_chars: int = Field(default=16, ge=1)
    """Characters per streamed text / argument delta."""
    rules: list[MockRule] = Field(default_factory=list)
    default: MockReply = Field(default_factory=MockReply)

    @classmethod
    def load(cls, path: str | Path) -> MockScript:
        try:
            data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
            return cls.model_validate(data)
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"{path}: cannot read mock script: {exc}") from exc
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            where = ".".join(str(p) for p in first["loc"])
            raise ConfigError(f"{path}: {where}: {first['msg']}") from exc

    def reply_for(self, body: dict[str, Any]) -> MockReply:
        if isinstance(body.get("mock"), dict):
            return MockReply.model_validate(body["mock"])
        last = _last_user_text(body.get("messages") or []).casefold()
        for rule in self.rules:
            if rule.match.casefold() in last:
                return rule
        return self.default


def _last_user_text(messages: list[Any]) -> str:
    for msg in reversed(messages):
        if isinstance(msg, dict) and msg.get("role") == "user":
            content = msg.get("content")
            if isinstance(content, list):
                return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
            return str(content or "")
    return ""


class _Reset(Exception):
    pass


class MockUpstream:
    """The fake endpoint. ``await start(host, port)``; or ``run_in_thread()`` for tests."""

    def __init__(self, script: MockScript | None = None) -> None:
        self.script = script or MockScript()
        self._ids = itertools.count(1)
        self.requests = 0
        self.last_body: dict[str, Any] | None = None
        self.server: asyncio.Server | None = None
        self.port = 0

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> asyncio.Server:
        self.server = await asyncio.start_server(self._connection, host, port, backlog=1024)
        self.port = self.server.sockets[0].getsockname()[1]
        return self.server

    # --- HTTP -------------------------------------------------------------------------------

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while await self._one_request(reader, writer):
                pass
        except (_Reset, ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        except asyncio.CancelledError:  # shutting down (a stalled connection, say): just close
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    async def _one_request(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, path = lines[0].split(" ")[:2]
        headers = {
            k.strip().lower(): v.strip()
            for k, _, v in (line.partition(":") for line in lines[1:] if line)
        }
        length = int(headers.get("content-length") or 0)
        raw = await reader.readexactly(length) if length else b""
        self.requests += 1
        keep = headers.get("connection", "").lower() != "close"
        if method == "GET" and path.rstrip("/").endswith("/models"):
            data = {
                "object": "list",
                "data": [
                    {
                        "id": self.script.model,
                        "object": "model",
                        "created": 0,
                        "owned_by": "ringfence-mock",
                    }
                ],
            }
            await _send_json(writer, 200, data, keep)
        elif method == "POST" and path.rstrip("/").endswith("/chat/completions"):
            await self._chat(writer, raw, keep)
        elif method == "GET" and path == "/healthz":
            await _send_json(writer, 200, {"status": "ok"}, keep)
        else:
            await _send_json(writer, 404, _err(f"no route {method} {path}"), keep)
        return keep

    async def _chat(self, writer: asyncio.StreamWriter, raw: bytes, keep: bool) -> None:
        try:
            body = json.loads(raw)
            self.last_body = body
            reply = self.script.reply_for(body)
        except (ValueError, ValidationError) as exc:
            await _send_json(writer, 400, _err(f"bad request: {exc}"), keep)
            return
        latency = reply.latency_ms if reply.latency_ms is not None else self.script.latency_ms
        if latency:
            await asyncio.sleep(latency / 1000)
        if reply.fault in ("stall", "reset"):
            await _fault(writer, reply.fault)
        if reply.status:
            await _send_json(writer, reply.status, _err("scripted upstream error"), keep)
            return
        n = next(self._ids)
        if body.get("stream"):
            await self._stream(writer, body, reply, n)
        else:
            await self._complete(writer, body, reply, n, keep)

    async def _complete(
        self,
        writer: asyncio.StreamWriter,
        body: dict[str, Any],
        reply: MockReply,
        n: int,
        keep: bool,
    ) -> None:
        text, calls = _content(body, reply), _calls(reply, n)
        message: dict[str, Any] = {"role": "assistant", "content": text, "refusal": None}
        if calls:
            message["tool_calls"] = calls
        data = {
            "id": f"chatcmpl-mock-{n}",
            "object": "chat.completion",
            "created": 1700000000,
            "model": body.get("model") or self.script.model,
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "logprobs": None,
                    "finish_reason": "tool_calls" if calls else "stop",
                }
            ],
            "usage": _usage(body, text),
        }
        if reply.fault in ("stall_after", "reset_after"):
            payload = json.dumps(data).encode()
            writer.write(_head(200, "application/json", len(payload), keep))
            writer.write(payload[: len(payload) // 2])
            await writer.drain()
            await _fault(writer, "stall" if reply.fault == "stall_after" else "reset")
        await _send_json(writer, 200, data, keep)

    async def _stream(
        self, writer: asyncio.StreamWriter, body: dict[str, Any], reply: MockReply, n: int
    ) -> None:
        writer.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
            b"transfer-encoding: chunked\r\ncache-control: no-cache\r\n\r\n"
        )
        events = list(self._events(body, reply, n))
        delay = self.script.chunk_delay_ms / 1000
        for i, event in enumerate(events):
            if reply.fault in ("stall_after", "reset_after") and i == reply.fault_after:
                await writer.drain()
                await _fault(writer, "stall" if reply.fault == "stall_after" else "reset")
            writer.write(b"%x\r\n%s\r\n" % (len(event), event))
            if delay:
                await writer.drain()
                await asyncio.sleep(delay)
        writer.write(b"0\r\n\r\n")
        await writer.drain()

    def _events(self, body: dict[str, Any], reply: MockReply, n: int) -> Iterator[bytes]:
        base = {
            "id": f"chatcmpl-mock-{n}",
            "object": "chat.completion.chunk",
            "created": 1700000000,
            "model": body.get("model") or self.script.model,
        }

        def ev(delta: dict[str, Any], finish: str | None = None) -> bytes:
            choice = {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}
            return b"data: " + json.dumps({**base, "choices": [choice]}).encode() + b"\n\n"

        size = self.script.chunk_chars
        text, calls = _content(body, reply), _calls(reply, n)
        yield ev({"role": "assistant", "content": ""})
        for piece in _pieces(text or "", size):
            yield ev({"content": piece})
        for i, call in enumerate(calls):
            fn = call["function"]
            yield ev(
                {
                    "tool_calls": [
                        {
                            "index": i,
                            "id": call["id"],
                            "type": "function",
                            "function": {"name": fn["name"], "arguments": ""},
                        }
                    ]
                }
            )
            for piece in _pieces(fn["arguments"], size):
                yield ev({"tool_calls": [{"index": i, "function": {"arguments": piece}}]})
        yield ev({}, "tool_calls" if calls else "stop")
        if (body.get("stream_options") or {}).get("include_usage"):
            usage: dict[str, Any] = {**base, "choices": [], "usage": _usage(body, text)}
            yield b"data: " + json.dumps(usage).encode() + b"\n\n"
        yield b"data: [DONE]\n\n"

    # --- running ----------------------------------------------------------------------------

    @contextlib.contextmanager
    def run_in_thread(self, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
        """Serve on a background thread with its own event loop; yields the base URL."""
        loop = asyncio.new_event_loop()
        started = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(loop)
            loop.run_until_complete(self.start(host, port))
            started.set()
            loop.run_forever()

        thread = threading.Thread(target=run, name="ringfence-mock-upstream", daemon=True)
        thread.start()
        started.wait(10)
        try:
            yield f"http://{host}:{self.port}/v1"
        finally:
            done = asyncio.run_coroutine_threadsafe(self._shutdown(), loop)
            with contextlib.suppress(Exception):
                done.result(5)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(5)
            if not thread.is_alive():
                loop.close()

    async def _shutdown(self) -> None:
        """Stop listening and end every connection, stalled ones included."""
        if self.server is not None:
            self.server.close()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _pieces(text: str, size: int) -> Iterator[str]:
    for i in range(0, len(text), size):
        yield text[i : i + size]


def _content(body: dict[str, Any], reply: MockReply) -> str | None:
    if reply.text is not None:
        return reply.text
    if reply.tool_calls:
        return None
    return "echo: " + _last_user_text(body.get("messages") or [])


def _calls(reply: MockReply, n: int) -> list[dict[str, Any]]:
    out = []
    for i, call in enumerate(reply.tool_calls):
        args = call.arguments if isinstance(call.arguments, str) else json.dumps(call.arguments)
        out.append(
            {
                "id": call.id or f"call_{n}_{i}",
                "type": "function",
                "function": {"name": call.name, "arguments": args},
            }
        )
    return out


def _usage(body: dict[str, Any], text: str | None) -> dict[str, int]:
    prompt = sum(
        len(str(m.get("content") or "").split())
        for m in body.get("messages") or ()
        if isinstance(m, dict)
    )
    completion = len((text or "").split())
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def _err(message: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": "server_error", "param": None, "code": None}}


def _head(status: int, ctype: str, length: int, keep: bool) -> bytes:
    reason = {
        200: "OK",
        400: "Bad Request",
        404: "Not Found",
        429: "Too Many Requests",
        500: "Internal Server Error",
        503: "Service Unavailable",
    }.get(status, "Error")
    conn = "keep-alive" if keep else "close"
    return (
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: {ctype}\r\ncontent-length: {length}\r\n"
        f"connection: {conn}\r\n\r\n"
    ).encode()


async def _send_json(writer: asyncio.StreamWriter, status: int, data: Any, keep: bool) -> None:
    payload = json.dumps(data).encode()
    writer.write(_head(status, "application/json", len(payload), keep) + payload)
    await writer.drain()


async def _fault(writer: asyncio.StreamWriter, fault: str) -> None:
    """``stall``: hang until the peer gives up; ``reset``: abort with a TCP RST."""
    if fault == "stall":
        await asyncio.Event().wait()
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()
    raise _Reset


async def serve_forever(script: MockScript, host: str, port: int) -> None:
    mock = MockUpstream(script)
    server = await mock.start(host, port)
    async with server:
        await server.serve_forever()
