"""The gateway: the only place where a proposed tool call turns into an executed one."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import Any, TypeVar, overload

from ringfence.audit import AuditLog
from ringfence.exceptions import CheckError, ConfigError
from ringfence.gateway._session import ApprovalHook, CallResult, Session, StagingHook
from ringfence.gateway._tool import Tool, tool_from_function, tool_from_openai
from ringfence.guards import GuardPipeline, build_pipeline
from ringfence.policy import Policy, Principal, ResourceResolver
from ringfence.store import SqliteStore

F = TypeVar("F", bound=Callable[..., Any])


class TimedResolver:
    """Wraps an application's ownership lookup with a deadline; a timeout is an error (deny)."""

    def __init__(self, inner: ResourceResolver, timeout_s: float) -> None:
        self.inner = inner
        self.timeout_s = timeout_s
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="ringfence-resolver")

    def owner(self, kind: str, resource_id: str) -> str | None:
        future = self._pool.submit(self.inner.owner, kind, resource_id)
        try:
            return future.result(timeout=self.timeout_s)
        except FutureTimeout as exc:
            raise CheckError(f"ownership lookup for {kind} {resource_id!r} timed out") from exc

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


class Gateway:
    """Wraps tools with a policy: validate -> decide -> (approve) -> execute -> audit.

    ``store`` is a :class:`SqliteStore` or a database path (default: in memory). Every decision
    is committed to the audit log before the call returns (``durable_allow=False`` makes allowed
    decisions group-committed instead; refusals are always durable).
    ``guards`` checks content as sessions add it (default: the policy's ``guards:`` section, if
    it has one; see ``docs/guards.md``).
    """

    def __init__(
        self,
        policy: Policy,
        *,
        store: SqliteStore | str | Path | None = None,
        audit: AuditLog | None = None,
        resolver: ResourceResolver | None = None,
        resolver_timeout_s: float = 5.0,
        approvals: ApprovalHook | None = None,
        staging: StagingHook | None = None,
        clock: Callable[[], float] = time.time,
        dry_run: bool = False,
        require_registered: bool | None = None,
        durable_allow: bool = True,
        guards: GuardPipeline | None = None,
    ) -> None:
        self.policy = policy
        self._owns_store = not isinstance(store, SqliteStore)
        self.store = store if isinstance(store, SqliteStore) else SqliteStore(store or ":memory:")
        self.audit = audit or AuditLog(self.store, clock=clock)
        self.resolver = TimedResolver(resolver, resolver_timeout_s) if resolver else None
        self.approvals = approvals
        self.staging = staging
        self.clock = clock
        self.dry_run = dry_run
        self.require_registered = (
            (not dry_run) if require_registered is None else require_registered
        )
        self.durable_allow = durable_allow
        self.tools: dict[str, Tool] = {}
        self._owns_guards = guards is None and policy.spec.guards is not None
        self.guards = build_pipeline(policy) if self._owns_guards else guards

    # --- registering tools -----------------------------------------------------------------

    def add_tool(self, tool: Tool) -> Tool:
        """Register a tool; its policy's argument names must exist in its schema."""
        if tool.name in self.tools:
            raise ConfigError(f"tool {tool.name!r} is already registered")
        self._check_args_known(tool)
        self.tools[tool.name] = tool
        return tool

    def add_function(
        self, fn: Callable[..., Any], *, name: str | None = None, description: str | None = None
    ) -> Tool:
        return self.add_tool(tool_from_function(fn, name=name, description=description))

    def add_openai_tool(
        self, schema: Mapping[str, Any], fn: Callable[..., Any] | None = None
    ) -> Tool:
        return self.add_tool(tool_from_openai(schema, fn))

    @overload
    def tool(self, fn: F) -> F: ...
    @overload
    def tool(
        self, *, name: str | None = None, description: str | None = None
    ) -> Callable[[F], F]: ...

    def tool(
        self, fn: F | None = None, *, name: str | None = None, description: str | None = None
    ) -> F | Callable[[F], F]:
        """Decorator: ``@gateway.tool`` or ``@gateway.tool(name=...)`` registers a function."""

        def register(f: F) -> F:
            self.add_function(f, name=name, description=description)
            return f

        return register(fn) if fn is not None else register

    def _check_args_known(self, tool: Tool) -> None:
        compiled = self.policy.tools.get(tool.name)
        props = tool.parameters.get("properties")
        if compiled is None or not isinstance(props, dict):
            return
        named = set(compiled.spec.args)
        named.update(a for p in compiled.provenance for a in p.args)
        named.update(c.arg for c in compiled.caps if c.arg)
        unknown = sorted(named - set(props))
        if unknown:
            raise ConfigError(
                f"policy {self.policy.name!r} constrains arguments {unknown} that tool "
                f"{tool.name!r} does not have (its arguments: {sorted(props)}); a rule on a "
                "misspelt argument would never apply"
            )

    def openai_tools(self) -> list[dict[str, Any]]:
        """Schemas of the registered tools the policy does not deny (least privilege: the model
        is not offered tools it may never call)."""
        out = []
        for name, tool in self.tools.items():
            compiled = self.policy.tools.get(name)
            if compiled is not None and compiled.spec.effect != "deny":
                out.append(tool.openai_schema())
        return out

    # --- sessions --------------------------------------------------------------------------

    def session(
        self,
        principal: Principal | str,
        session_id: str | None = None,
        *,
        agent: str | None = None,
    ) -> Session:
        """Start (or continue, by id) a conversation for ``principal``."""
        who = principal if isinstance(principal, Principal) else Principal(principal)
        return Session(self, who, session_id or uuid.uuid4().hex[:12], agent)

    def resume(self, request_id: str) -> CallResult:
        """Execute an approved request (exactly once) from a persisted handle; a request that
        is denied, expired, cancelled, pending or already executed is not executed."""
        resume = getattr(self.approvals, "resume", None)
        if resume is None:
            raise ConfigError("the gateway's approval hook cannot resume requests")
        result = resume(self, request_id)
        if not isinstance(result, CallResult):
            raise ConfigError("the approval hook's resume() must return a CallResult")
        return result

    def close(self) -> None:
        self.audit.close()
        if self.resolver is not None:
            self.resolver.close()
        if self._owns_guards and self.guards is not None:
            self.guards.close()
        if self._owns_store:
            self.store.close()

    def __enter__(self) -> Gateway:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
