"""Where the proxy runs its checks: on the event loop when they are bounded CPU work (durable
audit records still committed before the answer leaves), in a worker thread when a step may wait
(tool-call decisions, guards that run in threads, large texts)."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import httpx
import pytest
from proxy_helpers import POLICY, user

from ringfence.audit import AuditLog
from ringfence.gateway import Gateway
from ringfence.guards import Finding, GuardPipeline
from ringfence.policy import StaticResolver, policy_from_yaml
from ringfence.server import (
    MockScript,
    MockUpstream,
    PatternChecker,
    ProxyConfig,
    SessionGuards,
    build_app,
)
from ringfence.server._guarding import checks_inline
from ringfence.server._proxy import INLINE_MAX_BYTES
from ringfence.server._running import serve_in_thread
from ringfence.store import SqliteStore

LOOP_THREAD = "ringfence-asgi"  # serve_in_thread's thread: the event loop


class Recorder:
    """An inline guard that notes the thread it ran on, and blocks texts containing BLOCK."""

    default_action: ClassVar[str] = "block"
    inline = True
    threshold = 0.5

    def __init__(self, name: str) -> None:
        self.name = name
        self.threads: list[str] = []

    def check(self, text, label):
        self.threads.append(threading.current_thread().name)
        hit = "BLOCK" in text
        return [Finding(self.name, "test", 1.0, None, "blocked word")] if hit else []


class Setup:
    def __init__(self, tmp_path: Path, isolate: bool = False) -> None:
        self.db = tmp_path / "audit.db"
        store = SqliteStore(self.db)
        self.inp, self.out = Recorder("in"), Recorder("out")
        guards = GuardPipeline({"input": [self.inp], "output": [self.out]}, isolate=isolate)
        self.gateway = Gateway(
            policy_from_yaml(POLICY),
            store=store,
            audit=AuditLog(store, flush_interval=3600),  # only durable records are committed
            resolver=StaticResolver(),
            require_registered=False,
            guards=guards,
        )
        self.store, self.guards = store, guards

    def committed(self, kind: str) -> list[str]:
        with sqlite3.connect(self.db) as conn:
            sql = "SELECT payload FROM audit_events WHERE kind = ? ORDER BY seq"
            return [row[0] for row in conn.execute(sql, (kind,))]

    def blocks(self) -> int:
        """Committed guard events with verdict block."""
        return sum('"verdict":"block"' in p for p in self.committed("guard"))

    def close(self) -> None:
        self.gateway.close()
        self.guards.close()
        self.store.close()


@pytest.fixture
def setup(tmp_path):
    made: list[Setup] = []

    def make(**kwargs) -> Setup:
        made.append(Setup(tmp_path, **kwargs))
        return made[-1]

    yield make
    for s in made:
        s.close()


def _post(url: str, text: str, **extra) -> httpx.Response:
    body = {"model": "m", "messages": [user(text)], **extra}
    return httpx.post(url + "/v1/chat/completions", json=body, timeout=30)


@contextlib.contextmanager
def _serving(setup: Setup) -> Iterator[str]:
    mock = MockUpstream(MockScript())
    with mock.run_in_thread() as upstream:
        config = ProxyConfig(gateway=setup.gateway, upstream=upstream, checker=SessionGuards())
        with serve_in_thread(build_app(config)) as url:
            yield url


def _run(setup: Setup, *requests: tuple[str, dict]) -> list[httpx.Response]:
    with _serving(setup) as url:
        return [_post(url, text, **extra) for text, extra in requests]


def test_text_answers_are_checked_on_the_event_loop(setup):
    s = setup()
    (r,) = _run(s, ("hello", {}))
    assert r.json()["choices"][0]["message"]["content"] == "echo: hello"
    assert s.inp.threads == [LOOP_THREAD] and s.out.threads == [LOOP_THREAD]


def test_a_blocked_input_is_committed_before_the_refusal_leaves(setup):
    s = setup()
    with _serving(s) as url:  # checked while serving: stopping the proxy flushes the log
        r = _post(url, "please BLOCK this")
        assert r.json()["choices"][0]["finish_reason"] == "content_filter"
        assert s.inp.threads == [LOOP_THREAD]
        assert s.blocks() == 1  # durable although the check ran inline (no flusher tick yet)
        assert _post(url, "fine").status_code == 200
        assert len(s.committed("content")) == 1  # the second request's is still queued


def test_a_blocked_answer_is_committed_before_it_leaves(setup):
    s = setup()
    with _serving(s) as url:
        r = _post(url, "hi", mock={"text": "a BLOCK answer"})
        assert r.json()["choices"][0]["finish_reason"] == "content_filter"
        assert s.out.threads == [LOOP_THREAD] and s.blocks() == 1
        r = _post(url, "hi", stream=True, mock={"text": "a BLOCK answer"})
        assert "content_filter" in r.text and s.blocks() == 2


def test_tool_calls_are_decided_in_a_worker_thread(setup):
    s = setup()
    call = {"name": "get_order", "arguments": {"order_id": "4821"}}
    (r, rs) = _run(
        s,
        ("order 4821", {"mock": {"tool_calls": [call]}}),
        ("order 4821", {"stream": True, "mock": {"tool_calls": [call]}}),
    )
    assert r.json()["choices"][0]["message"]["tool_calls"][0]["function"]["name"] == "get_order"
    assert '"get_order"' in rs.text
    assert s.inp.threads == [LOOP_THREAD, LOOP_THREAD]
    assert s.out.threads and LOOP_THREAD not in s.out.threads  # the arguments' checks
    assert len(s.committed("decision")) == 2  # durable allow decisions


def test_large_requests_are_checked_in_a_worker_thread(setup):
    s = setup()
    (r,) = _run(s, ("x" * (INLINE_MAX_BYTES + 1), {}))
    assert r.status_code == 200
    assert s.inp.threads and s.inp.threads[0] != LOOP_THREAD


def test_guards_that_run_in_threads_keep_the_checks_off_the_loop(setup):
    s = setup(isolate=True)
    assert not checks_inline(SessionGuards(), s.gateway, ("input",))
    (r,) = _run(s, ("hello", {}))
    assert r.status_code == 200
    assert LOOP_THREAD not in s.inp.threads + s.out.threads


def test_only_checkers_that_say_so_run_inline(setup):
    class Custom:
        def check(self, session, text, direction): ...

        def scan(self, session, item): ...

    s = setup()
    assert checks_inline(SessionGuards(), s.gateway, ("input", "untrusted", "output"))
    assert checks_inline(PatternChecker({}), s.gateway, ("input",))
    assert not checks_inline(Custom(), s.gateway, ("input",))  # type: ignore[arg-type]
