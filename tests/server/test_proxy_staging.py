"""The proxy with the gateway `ringfence serve` builds: staged tools are recorded, not forwarded;
calls approved while the request waits are handed to the client (audited as delegated); an
approved call is claimed exactly once."""

from __future__ import annotations

import threading
import time

import httpx
from proxy_helpers import KEY, POLICY, call, sse_events, user

STAGED = POLICY.replace(
    "tools:\n",
    "tools:\n"
    "  post_reply:\n"
    "    effect: allow\n"
    "    stage: true\n"
    "    args: {text: {type: string, required: true}}\n"
    "  close_ticket:\n"
    "    effect: approve\n"
    "    stage: true\n",
    1,
)
AUTH = {"authorization": f"Bearer {KEY}"}


def chat(stack, *calls, stream=False, text="On it."):
    body = {
        "model": "m",
        "stream": stream,
        "messages": [user("reply 'thanks' and look up order 4821")],
        "mock": {"text": text, "tool_calls": list(calls)},
    }
    r = httpx.post(stack.url + "/v1/chat/completions", json=body, headers=AUTH, timeout=30)
    assert r.status_code == 200, r.text
    return r


def plain(r):
    body = r.json()
    msg = body["choices"][0]["message"]
    calls = [t["function"]["name"] for t in msg.get("tool_calls") or ()]
    return msg["content"], calls, body["choices"][0]["finish_reason"], body["ringfence"]


def streamed(r):
    events = sse_events(r)
    assert events[-1] == "[DONE]"
    content, calls, finish = "", [], None
    for e in events[:-1]:
        for ch in e["choices"]:
            content += ch["delta"].get("content") or ""
            calls += [t["function"]["name"] for t in ch["delta"].get("tool_calls") or ()]
            finish = ch["finish_reason"] or finish
    return content, calls, finish, events[-2]["ringfence"]


def test_staged_call_is_recorded_and_not_forwarded(stack_factory):
    stack = stack_factory(STAGED, approvals="serving")
    staging = stack.gateway.staging
    for stream in (False, True):
        r = chat(
            stack,
            call("post_reply", text="thanks"),
            call("get_order", order_id="4821"),
            stream=stream,
        )
        content, calls, finish, report = (streamed if stream else plain)(r)
        assert calls == ["get_order"]  # the staged call never reaches the client app
        assert finish == "tool_calls"
        staged = report["choices"][0]["decisions"][0]
        assert (staged["tool"], staged["decision"], staged["forwarded"]) == (
            "post_reply",
            "allow",
            False,
        )
        change = staging.get(staged["staged"])
        assert (change.state, change.tool, change.args) == (
            "staged",
            "post_reply",
            {"text": "thanks"},
        )
        assert f"staged as change {change.id}" in content
    assert [r.payload["action"] for r in stack.records("staged")] == ["staged"] * 2
    assert not stack.records("execution")  # nothing claims it ran


def test_a_staged_call_does_not_make_replace_mode_withhold_the_turn(stack_factory):
    policy = STAGED.replace("proxy:\n", "proxy:\n  on_denied_tool_call: replace\n")
    stack = stack_factory(policy, approvals="serving")
    r = chat(stack, call("post_reply", text="thanks"), call("get_order", order_id="4821"))
    _content, calls, _finish, _report = plain(r)
    assert calls == ["get_order"]


def test_a_staged_tool_without_a_staging_area_fails_closed(stack_factory):
    stack = stack_factory(STAGED)  # a bare gateway: no staging area
    _content, calls, finish, report = plain(chat(stack, call("post_reply", text="thanks")))
    assert calls == [] and finish == "stop"
    decision = report["choices"][0]["decisions"][0]
    assert (decision["decision"], decision["forwarded"]) == ("error", False)
    assert "staged" not in decision
    assert any(r.payload["where"] == "staging" for r in stack.records("error"))


def approve_when_pending(stack, approver="carol", timeout=20.0):
    """A person approving the first pending request, from another thread."""
    done = threading.Event()

    def run():
        queue = stack.gateway.approvals
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not done.is_set():
            pending = queue.list_requests(states=["pending"])
            if pending:
                queue.approve(pending[0].id, approver, "checked")
                return
            time.sleep(0.05)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, done


def test_call_approved_while_waiting_is_delegated_to_the_client(stack_factory):
    stack = stack_factory(STAGED, approvals="serving", approval_wait=20)
    thread, done = approve_when_pending(stack)
    try:
        r = chat(stack, call("cancel_order", order_id="4821"))
    finally:
        done.set()
        thread.join(5)
    body = r.json()
    tool_calls = body["choices"][0]["message"]["tool_calls"]
    assert [(t["function"]["name"], t["function"]["arguments"]) for t in tool_calls] == [
        ("cancel_order", '{"order_id": "4821"}')
    ]
    decision = body["ringfence"]["choices"][0]["decisions"][0]
    assert decision["approval"]["status"] == "approved" and decision["forwarded"]
    request = stack.gateway.approvals.get(decision["approval"]["id"])
    assert (request.state, request.execution) == ("executed", "delegated")
    executions = [r.payload for r in stack.records("execution")]
    assert len(executions) == 1
    assert executions[0]["delegated"] is True and executions[0]["dry_run"] is False
    assert "handed to the caller" in executions[0]["result"]


def test_staged_call_approved_while_waiting_is_staged_not_forwarded(stack_factory):
    stack = stack_factory(STAGED, approvals="serving", approval_wait=20)
    thread, done = approve_when_pending(stack)
    try:
        r = chat(stack, call("close_ticket", ticket="T-1"))
    finally:
        done.set()
        thread.join(5)
    _content, calls, _finish, report = plain(r)
    assert calls == []
    decision = report["choices"][0]["decisions"][0]
    assert decision["decision"] == "approve" and decision["approval"]["status"] == "approved"
    change = stack.gateway.staging.get(decision["staged"])
    assert change.request_id == decision["approval"]["id"] and change.state == "staged"
    assert not stack.records("execution")


def test_concurrent_claims_hand_the_call_out_once(stack_factory):
    stack = stack_factory(STAGED, approvals="serving")
    report = plain(chat(stack, call("cancel_order", order_id="4821")))[3]
    rid = report["choices"][0]["decisions"][0]["approval"]["id"]
    stack.gateway.approvals.approve(rid, "carol", "ok")
    url = f"{stack.url}/v1/ringfence/approvals/{rid}/claim"
    barrier, statuses = threading.Barrier(6), []

    def claim():
        barrier.wait()
        statuses.append(httpx.post(url, headers=AUTH, timeout=30).status_code)

    threads = [threading.Thread(target=claim) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(statuses) == [200] + [409] * 5
    executed = [r for r in stack.records("approval") if r.payload["action"] == "executed"]
    assert [r.payload["details"]["execution"] for r in executed] == ["delegated"]
