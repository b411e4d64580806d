"""The proxy keeps serving when the upstream stalls or resets, and never forwards an unchecked
tool call (the mock upstream's fault modes)."""

from __future__ import annotations

import socket
import threading

import httpx
import openai
import pytest
from proxy_helpers import KEY, PATTERNS, POLICY, call, make_gateway, sse_events, user

from ringfence.server import PatternChecker, ProxyConfig, build_app
from ringfence.server._running import serve_in_thread

AUTH = {"authorization": f"Bearer {KEY}"}
CALLS = [call("get_order", order_id="4821"), call("refund", order_id="4821", amount=5)]

# A stall is detected by the proxy's upstream timeout, so these tests use a short one; the
# healthy requests that check the proxy keeps serving must then finish within it too. It once
# was 1.5 s, and a full garbage collection of the heap the earlier tests left behind (see
# conftest.py) stretched by a loaded machine made such a request time out (a spurious 504).
FAULT_TIMEOUT_S = 2.5
FAULTS = POLICY.replace("upstream_timeout: 30", f"upstream_timeout: {FAULT_TIMEOUT_S}")
assert FAULTS != POLICY


@pytest.fixture
def stack(stack_factory):
    return stack_factory(FAULTS)


def post(stack, body, timeout=10.0):
    return httpx.post(stack.url + "/v1/chat/completions", json=body, headers=AUTH, timeout=timeout)


def body(fault, stream, after=1):
    return {
        "model": "m",
        "stream": stream,
        "messages": [user("refund order 4821 by 5")],
        "mock": {
            "text": "Working on it.",
            "tool_calls": CALLS,
            "fault": fault,
            "fault_after": after,
        },
    }


@pytest.mark.parametrize(
    ("fault", "status"),
    [("stall", 504), ("reset", 502), ("stall_after", 504), ("reset_after", 502)],
)
def test_non_streaming_faults_map_to_openai_errors(stack, fault, status):
    r = post(stack, body(fault, stream=False))
    assert r.status_code == status
    assert r.json()["error"]["type"] == "upstream_error"
    assert "tool_calls" not in r.text
    ok = stack.client().chat.completions.create(model="m", messages=[user("still there?")])
    assert ok.choices[0].message.content == "echo: still there?"


@pytest.mark.parametrize("fault", ["stall_after", "reset_after"])
@pytest.mark.parametrize("after", [2, 4, 6])  # inside the text, inside the tool-call deltas
def test_mid_stream_faults_end_with_an_error_event_and_no_tool_call(stack, fault, after):
    r = post(stack, body(fault, stream=True, after=after))
    assert r.status_code == 200
    events = sse_events(r)
    assert "error" in events[-1]
    assert events[-1]["error"]["type"] == "upstream_error"
    assert not any(ch["delta"].get("tool_calls") for e in events[:-1] for ch in e["choices"])
    assert "[DONE]" not in events


def test_the_openai_client_sees_a_mid_stream_failure_as_an_error(stack):
    stream = stack.client().chat.completions.create(
        model="m",
        messages=[user("x")],
        stream=True,
        extra_body={
            "mock": {
                "text": "a" * 200,
                "tool_calls": CALLS,
                "fault": "reset_after",
                "fault_after": 5,
            }
        },
    )
    seen_calls = []

    def consume():
        for chunk in stream:
            seen_calls.extend(t for ch in chunk.choices for t in ch.delta.tool_calls or ())

    with pytest.raises(openai.APIError):
        consume()
    assert seen_calls == []


def test_a_stalled_upstream_does_not_block_other_requests(stack):
    results = {}

    def stalled():
        results["stalled"] = post(stack, body("stall", stream=True)).status_code

    thread = threading.Thread(target=stalled)
    thread.start()
    client = stack.client()
    for i in range(5):
        r = client.chat.completions.create(model="m", messages=[user(f"n{i}")])
        assert r.choices[0].message.content == f"echo: n{i}"
    thread.join(10)
    assert results["stalled"] == 504


def test_upstream_down_and_upstream_errors(stack):
    r = post(stack, {"model": "m", "messages": [user("x")], "mock": {"status": 500}})
    assert r.status_code == 502 and r.json()["error"]["code"] == "upstream_status"
    r = post(stack, {"model": "m", "messages": [user("x")], "mock": {"status": 429}})
    assert r.status_code == 429  # a request-level error passes through with its error object


def test_upstream_unreachable():
    gateway = make_gateway()
    config = ProxyConfig(
        gateway=gateway,
        upstream=f"http://127.0.0.1:{free_port()}/v1",
        checker=PatternChecker(PATTERNS),
    )
    with serve_in_thread(build_app(config)) as url:
        r = httpx.post(url + "/v1/chat/completions", json={"model": "m", "messages": [user("x")]})
        assert r.status_code == 502
        assert r.json()["error"]["code"] == "upstream_connect"
        assert httpx.get(url + "/healthz").status_code == 200
        ready = httpx.get(url + "/readyz")
        assert ready.status_code == 503 and not ready.json()["checks"]["upstream"]["ok"]
    gateway.close()


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
