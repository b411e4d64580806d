"""The MCP tool gateway: an MCP server that fronts another MCP server (stdio or streamable HTTP)
and puts the policy between the client and its tools. Needs the ``mcp`` extra (SDK v2).

- ``tools/list``: tools the policy denies or does not declare are hidden, and so is every tool
  whose description the ``untrusted`` guards flag or cannot scan ("tool poisoning": a
  description is text the model reads, written by whoever wrote the server).
- ``tools/call``: decided by the policy with provenance from the connection's session (earlier
  results are content ``tool:NAME``); refused calls return an error result with the gateway's
  message; approval-needing calls become approval requests (pending: the message names the id;
  approved while the queue waited: forwarded with the approved arguments). Tools declared
  ``stage: true`` are recorded as staged changes instead of being called.
- Results are recorded as content ``tool:NAME`` (untrusted unless the policy's ``output`` says
  otherwise) and screened by the untrusted guards: a blocked result is withheld; a flagged one
  is passed on and taints the values that come from it for later calls.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import anyio

from ringfence.exceptions import MissingExtraError, UpstreamError
from ringfence.gateway import Gateway, Proposal, Session
from ringfence.policy import Principal
from ringfence.server._decide import deny_event, staged_change, stages
from ringfence.server._guarding import ContentChecker, SessionGuards
from ringfence.server._metrics import Metrics

if TYPE_CHECKING:
    import mcp.types as mcp_types
    from mcp import Client

log = logging.getLogger("ringfence.server.mcp")

POISONING_RULE = "tool-poisoning"
"""Rule id of the denial of a call to a tool hidden for its description."""

DESCRIPTION_SOURCE = "tool-description"
"""Content source of a tool description (``tool-description:NAME``), untrusted by default."""


def require_mcp() -> None:
    try:
        import mcp  # noqa: F401
    except ImportError as exc:
        raise MissingExtraError("the MCP gateway", "mcp", "mcp>=2.3") from exc


@dataclass
class McpGateway:
    """Policy, guards and audit between an MCP client and an upstream MCP server."""

    gateway: Gateway
    upstream: Client
    principal: Principal = field(default_factory=lambda: Principal("mcp-client"))
    checker: ContentChecker = field(default_factory=SessionGuards)
    metrics: Metrics = field(default_factory=Metrics)
    hidden: dict[str, str] = field(default_factory=dict)
    _sessions: dict[int, Session] = field(default_factory=dict)

    def session_for(self, key: int) -> Session:
        """The ringfence session for ``key``: one per gateway (one principal, one upstream), so
        the provenance index spans every call made through it. (MCP 2026 requests carry no
        stable connection identity to split it by.)"""
        if key not in self._sessions:
            self._sessions[key] = self.gateway.session(self.principal, agent="mcp")
        return self._sessions[key]

    # --- tools/list ------------------------------------------------------------------------

    async def list_tools(self, key: int) -> list[mcp_types.Tool]:
        tools: list[mcp_types.Tool] = []
        cursor: str | None = None
        for _ in range(100):
            page = await self.upstream.list_tools(cursor=cursor)
            tools.extend(page.tools)
            cursor = page.next_cursor
            if not cursor:
                break
        session = self.session_for(key)
        return await anyio.to_thread.run_sync(self._visible, session, tools)

    def _visible(self, session: Session, tools: Sequence[mcp_types.Tool]) -> list[mcp_types.Tool]:
        kept = []
        for tool in tools:
            why = self._hide_reason(session, tool)
            if why is None:
                kept.append(tool)
                self.hidden.pop(tool.name, None)
            else:
                self.hidden[tool.name] = why
                log.info("tool hidden", extra={"tool": tool.name, "reason": why})
        return kept

    def _hide_reason(self, session: Session, tool: mcp_types.Tool) -> str | None:
        compiled = self.gateway.policy.tools.get(tool.name)
        if compiled is None:
            return "not declared in the policy"
        if compiled.spec.effect == "deny":
            return "denied by the policy"
        text = "\n".join(p for p in (tool.title, tool.description, _schema_text(tool)) if p)
        item = session.add_content(text, source=f"{DESCRIPTION_SOURCE}:{tool.name}", trusted=False)
        check = self.checker.scan(session, item)
        self.metrics.guard_verdicts.inc("untrusted", check.verdict)
        if check.verdict != "pass":
            return f"its description was flagged by the guards ({check.verdict})"
        return None

    # --- tools/call ------------------------------------------------------------------------

    async def call_tool(
        self, key: int, name: str, args: dict[str, Any]
    ) -> mcp_types.CallToolResult:
        session = self.session_for(key)
        if name in self.hidden and "description" in self.hidden[name]:
            deny_event(session, "", name, POISONING_RULE, self.hidden[name])
            self.metrics.decisions.inc("deny")
            return _error_result(f"The tool '{name}' is not available.")
        proposal = await anyio.to_thread.run_sync(lambda: session.propose(name, args))
        self.metrics.decisions.inc(proposal.verdict.decision)
        if proposal.verdict.decision == "allow" and not stages(self.gateway, name):
            return await self._forward(session, proposal, name, dict(proposal.call.args))
        return await self._not_forwarded(session, proposal)

    async def _not_forwarded(
        self, session: Session, proposal: Proposal
    ) -> mcp_types.CallToolResult:
        """Staged, refused, or an approval request, as the core decides (``Session.execute``);
        a call approved while the queue waited comes back delegated and is forwarded."""
        result = await anyio.to_thread.run_sync(session.execute, proposal)
        delegated = result.delegated
        if delegated is not None:
            args = dict(delegated.call.args)
            return await self._forward(session, delegated, delegated.call.tool, args)
        change = staged_change(result)
        if change is not None:  # recorded, not run: a person commits or rolls it back
            return _error_result(result.message, {"ringfence/staged_change": change})
        message = result.message
        approval = result.approval
        if approval is not None and approval.request_id and approval.status == "pending":
            message += f" (approval request {approval.request_id})"
        return _error_result(message)

    async def _forward(
        self, session: Session, proposal: Proposal, name: str, args: dict[str, Any]
    ) -> mcp_types.CallToolResult:
        try:
            result = await self.upstream.call_tool(name, args)
        except Exception as exc:  # the upstream failed: record it, tell the client
            err = UpstreamError(f"upstream MCP server failed: {type(exc).__name__}", "protocol")
            await anyio.to_thread.run_sync(lambda: session.complete(proposal, error=str(err)))
            return _error_result(f"The call to '{name}' failed: {err}")
        output = _output_of(result)
        if result.is_error:
            await anyio.to_thread.run_sync(
                lambda: session.complete(proposal, error=_text_of(result) or "tool error")
            )
            return result
        done = await anyio.to_thread.run_sync(lambda: session.complete(proposal, output=output))
        item = session.index.get(done.content_id or "")
        if item is None:
            return _error_result(f"The result of '{name}' was withheld: it could not be recorded.")
        check = await anyio.to_thread.run_sync(self.checker.scan, session, item)
        self.metrics.guard_verdicts.inc("untrusted", check.verdict)
        if check.blocked:
            return _error_result(
                f"The result of '{name}' was withheld: a safety check blocked it ({check.verdict})."
            )
        return result


def _schema_text(tool: mcp_types.Tool) -> str:
    """Descriptions inside the input schema are read by the model too."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                if k in ("description", "title") and isinstance(v, str):
                    found.append(v)
                else:
                    walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(tool.input_schema)
    return "\n".join(found)


def _text_of(result: mcp_types.CallToolResult) -> str:
    return "\n".join(
        getattr(block, "text", "") for block in result.content if hasattr(block, "text")
    )


def _output_of(result: mcp_types.CallToolResult) -> Any:
    if result.structured_content is not None:
        return result.structured_content
    text = _text_of(result)
    with contextlib.suppress(ValueError):
        parsed = json.loads(text)
        if isinstance(parsed, dict | list):
            return parsed
    return text


def _error_result(message: str, meta: dict[str, Any] | None = None) -> mcp_types.CallToolResult:
    """A result the tool did not produce: refused, pending, staged or withheld. (``isError``:
    a non-error result would be validated against the tool's output schema by the client.)"""
    import mcp.types as mcp_types

    return mcp_types.CallToolResult(
        meta=meta,
        content=[mcp_types.TextContent(type="text", text=message)],
        is_error=True,
    )


def build_server(gw: McpGateway, name: str = "ringfence-mcp-gateway") -> Any:
    """A low-level MCP ``Server`` whose tools/list and tools/call go through ``gw``."""
    require_mcp()
    import mcp.types as mcp_types
    from mcp.server import Server

    async def on_list_tools(ctx: Any, params: Any) -> mcp_types.ListToolsResult:
        return mcp_types.ListToolsResult(tools=await gw.list_tools(0))

    async def on_call_tool(ctx: Any, params: Any) -> mcp_types.CallToolResult:
        return await gw.call_tool(0, params.name, dict(params.arguments or {}))

    return Server(name, on_list_tools=on_list_tools, on_call_tool=on_call_tool)


@contextlib.asynccontextmanager
async def connect_upstream(target: Sequence[str] | str) -> AsyncIterator[Client]:
    """A connected client for the upstream: a URL (streamable HTTP) or a command (stdio)."""
    require_mcp()
    from mcp import Client, StdioServerParameters

    if isinstance(target, str):
        server: Any = target
    else:
        server = StdioServerParameters(command=target[0], args=list(target[1:]))
    async with Client(server) as client:
        yield client


async def serve_stdio(gw_factory: Any, target: Sequence[str] | str) -> None:
    """Serve the gateway on this process's stdin/stdout, in front of ``target``."""
    from mcp.server.stdio import stdio_server

    async with connect_upstream(target) as client:
        server = build_server(gw_factory(client))
        async with stdio_server() as (read, write):
            await server.run(read, write, server.create_initialization_options())


async def serve_http(gw_factory: Any, target: Sequence[str] | str, host: str, port: int) -> None:
    """Serve the gateway over streamable HTTP (``http://HOST:PORT/mcp``)."""
    import uvicorn

    async with connect_upstream(target) as client:
        server = build_server(gw_factory(client))
        app = server.streamable_http_app(host=host)
        config = uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False)
        await uvicorn.Server(config).serve()
