"""The MCP gateway on the gateway `ringfence mcp-gateway` builds (`open_serving`: the default
guards with the injection detector, the approval queue, the staging area), against the test's
real stdio MCP server."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import anyio
import pytest
from proxy_helpers import POLICY

pytestmark = pytest.mark.mcp
mcp = pytest.importorskip("mcp", reason="needs the mcp extra: pip install 'ringfence[mcp]'")

from mcp import Client  # noqa: E402

from ringfence.policy import Principal, StaticResolver, policy_from_yaml  # noqa: E402
from ringfence.server import open_serving  # noqa: E402
from ringfence.server._mcp import McpGateway, build_server, connect_upstream  # noqa: E402

FIXTURE = [sys.executable, str(Path(__file__).with_name("mcp_fixture_server.py"))]
SERVING_POLICY = POLICY.replace(
    "tools:\n",
    "tools:\n  read_inbox: {effect: allow}\n  multiply: {effect: allow}\n  add: {effect: allow}\n",
    1,
)


def run(body, tmp_path, policy=SERVING_POLICY, approval_wait=0.0):
    """``body(client, gw, serving, upstream)`` with the gateway in front of the fixture server."""

    async def main():
        serving = open_serving(
            policy_from_yaml(policy),
            tmp_path / "mcp.db",
            approval_wait=approval_wait,
            resolver=StaticResolver(),
        )
        try:
            async with connect_upstream(FIXTURE) as upstream:
                gw = McpGateway(serving.gateway, upstream, Principal("alice"))  # SessionGuards
                async with Client(build_server(gw)) as client:
                    return await body(client, gw, serving, upstream)
        finally:
            serving.close()

    return anyio.run(main)


async def ran(upstream):
    """The tools that really ran in the fixture server."""
    result = await upstream.call_tool("calls_made", {})
    return list(result.structured_content["result"])


def test_default_guards_hide_a_poisoned_tool_description(tmp_path):
    async def body(client, gw, serving, upstream):
        listed = sorted(t.name for t in (await client.list_tools()).tools)
        call = await client.call_tool("multiply", {"a": 2, "b": 3})
        serving.gateway.audit.flush()
        guard_events = [
            r.payload
            for r in serving.gateway.audit.records(kinds=["guard"])
            if r.payload.get("source") == "tool-description:multiply"
        ]
        decisions = [r.payload for r in serving.gateway.audit.records(kinds=["decision"])]
        return listed, dict(gw.hidden), call, guard_events, decisions, await ran(upstream)

    listed, hidden, call, guard_events, decisions, tools_run = run(body, tmp_path)
    assert serving_guards_include_the_detector(tmp_path)
    # no "ignore previous instructions" here: the detector, not a pattern, finds it
    assert "multiply" not in listed and "description was flagged" in hidden["multiply"]
    assert "add" not in listed  # the other poisoned description
    assert {"get_order", "read_inbox", "send_email", "cancel_order"} <= set(listed)
    assert [f["kind"] for f in guard_events[0]["findings"]] == ["injection"]
    assert call.is_error and "not available" in call.content[0].text
    assert ("multiply", "deny", ["tool-poisoning"]) in [
        (d["tool"], d["decision"], d["rules"]) for d in decisions
    ]
    assert "multiply" not in tools_run


def serving_guards_include_the_detector(tmp_path):
    with open_serving(policy_from_yaml(SERVING_POLICY), tmp_path / "g.db") as serving:
        return all("injection" in serving.guards.guards(d) for d in ("input", "untrusted"))


def test_injected_tool_result_taints_the_values_it_carries(tmp_path):
    async def body(client, gw, serving, upstream):
        await client.list_tools()
        inbox = await client.call_tool("read_inbox", {})
        mail = await client.call_tool("send_email", {"to": "x@evil.test", "body": "all"})
        return inbox, mail, await ran(upstream)

    inbox, mail, tools_run = run(body, tmp_path)
    assert not inbox.is_error  # flagged content is passed on, tainted
    assert mail.is_error and "refused" in mail.content[0].text
    assert "send_email" not in tools_run


STAGED = SERVING_POLICY.replace("  send_email:\n", "  send_email:\n    stage: true\n", 1)


def test_staged_tool_is_recorded_and_never_called(tmp_path):
    async def body(client, gw, serving, upstream):
        await client.list_tools()
        await client.call_tool("get_order", {"order_id": "4821"})  # me@corp.test: trusted field
        res = await client.call_tool("send_email", {"to": "me@corp.test", "body": "hi"})
        changes = serving.staging.list_changes()
        serving.gateway.audit.flush()
        executions = [r.payload for r in serving.gateway.audit.records(kinds=["execution"])]
        return res, changes, executions, await ran(upstream)

    res, changes, executions, tools_run = run(body, tmp_path, policy=STAGED)
    assert tools_run == ["get_order"]  # send_email never reached the server
    assert len(changes) == 1 and changes[0].state == "staged"
    assert changes[0].args == {"to": "me@corp.test", "body": "hi"}
    assert res.is_error and f"staged as change {changes[0].id}" in res.content[0].text
    assert res.meta["ringfence/staged_change"] == changes[0].id
    assert [e["tool"] for e in executions] == ["get_order"]


def test_call_approved_while_waiting_runs_once_on_the_server(tmp_path):
    async def body(client, gw, serving, upstream):
        await client.list_tools()
        queue, done = serving.approvals, threading.Event()

        def approve():
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and not done.is_set():
                pending = queue.list_requests(states=["pending"])
                if pending:
                    queue.approve(pending[0].id, "carol", "checked")
                    return
                time.sleep(0.05)

        thread = threading.Thread(target=approve, daemon=True)
        thread.start()
        try:
            res = await client.call_tool("cancel_order", {"order_id": "4821"})
        finally:
            done.set()
            thread.join(5)
        serving.gateway.audit.flush()
        executions = [r.payload for r in serving.gateway.audit.records(kinds=["execution"])]
        return res, queue.list_requests(), executions, await ran(upstream)

    res, requests, executions, tools_run = run(body, tmp_path, approval_wait=20)
    assert not res.is_error and "cancelled 4821" in res.content[0].text
    assert tools_run == ["cancel_order"]
    assert [(r.state, r.execution) for r in requests] == [("executed", "delegated")]
    assert [(e["delegated"], e["dry_run"], e["ok"]) for e in executions] == [
        (True, False, True),  # handed to the gateway's caller side: the MCP server
        (False, False, True),  # then run there, and its result recorded
    ]


def test_mcp_gateway_cli_starts_with_the_default_guards(tmp_path):
    policy = tmp_path / "policy.yaml"
    policy.write_text(SERVING_POLICY)  # no guards: section

    async def body():
        from mcp import StdioServerParameters

        exe = str(Path(sys.executable).with_name("ringfence"))
        args = ["mcp-gateway", "--policy", str(policy), "--db", str(tmp_path / "cli.db")]
        params = StdioServerParameters(command=exe, args=[*args, "--", *FIXTURE])
        async with Client(params) as client:
            return sorted(t.name for t in (await client.list_tools()).tools)

    listed = anyio.run(body)
    assert "get_order" in listed
    assert "multiply" not in listed  # its description: flagged by the injection detector
