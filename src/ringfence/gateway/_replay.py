"""Replaying a JSONL trace through a fresh gateway: one decision line per call.

Trace lines (one JSON object each; blank lines and lines starting with ``#`` are skipped)::

    {"type": "content", "source": "user", "trusted": true, "text": "...", "session": "s1"}
    {"type": "call", "principal": "cust-17", "session": "s1", "tool": "refund", "args": {...}}
    {"type": "resource", "kind": "order", "id": "4821", "owner": "cust-17"}
    {"type": "principal", "id": "cust-17", "kind": "user", "roles": ["vip"], "tenant": "acme"}

``trusted`` and ``session`` are optional (trust defaults to the policy's ``sources``; a content
line without ``session`` goes to the session of the next call). ``ts`` (epoch seconds) on a call
line sets the clock, so caps over windows can be replayed.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from ringfence.exceptions import ConfigError, Problem, TraceError
from ringfence.gateway._gateway import Gateway
from ringfence.gateway._session import Session
from ringfence.policy import Policy, Principal, StaticResolver
from ringfence.store import SqliteStore


class _Line(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ContentLine(_Line):
    type: Literal["content"]
    source: str = Field(min_length=1)
    text: str
    trusted: bool | None = None
    session: str | None = None


class CallLine(_Line):
    type: Literal["call"]
    principal: str = Field(min_length=1)
    session: str = Field(min_length=1)
    tool: str = Field(min_length=1)
    args: dict[str, Any] = Field(default_factory=dict)
    call_id: str | None = None
    ts: float | None = None


class ResourceLine(_Line):
    type: Literal["resource"]
    kind: str = Field(min_length=1)
    id: str | int
    owner: str = Field(min_length=1)


class PrincipalLine(_Line):
    type: Literal["principal"]
    id: str = Field(min_length=1)
    kind: Literal["user", "agent", "service", "operator"] = "user"
    tenant: str | None = None
    roles: list[str] = Field(default_factory=list)
    attrs: dict[str, Any] = Field(default_factory=dict)


TraceLine = Annotated[
    ContentLine | CallLine | ResourceLine | PrincipalLine, Field(discriminator="type")
]
_ADAPTER: TypeAdapter[TraceLine] = TypeAdapter(TraceLine)


def parse_trace(path: str | Path) -> list[tuple[int, TraceLine]]:
    """Parse and validate every line first; all problems are reported together."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TraceError([Problem(source, "", f"cannot read trace: {exc}")]) from exc
    lines: list[tuple[int, TraceLine]] = []
    problems: list[Problem] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        try:
            lines.append((number, _ADAPTER.validate_python(json.loads(raw))))
        except json.JSONDecodeError as exc:
            problems.append(Problem(source, f"line {number}", f"not JSON: {exc.msg}"))
        except ValidationError as exc:
            for err in exc.errors(include_url=False)[:3]:
                loc = ".".join(str(x) for x in err["loc"][1:] or err["loc"])
                reason = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
                problems.append(Problem(source, f"line {number} ({loc})", reason))
    if problems:
        raise TraceError(problems)
    return lines


def _handlers(policy: Policy) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, tool in policy.tools.items():
        if tool.spec.handler:
            module, _, attr = tool.spec.handler.partition(":")
            try:
                out[name] = getattr(importlib.import_module(module), attr)
            except (ImportError, AttributeError) as exc:
                raise ConfigError(
                    f"tool {name!r}: cannot import handler {tool.spec.handler!r}: {exc}"
                ) from exc
    return out


class _Clock:
    def __init__(self) -> None:
        import time

        self.now: float | None = None
        self._time = time.time

    def __call__(self) -> float:
        return self.now if self.now is not None else self._time()


def replay(
    policy: Policy, trace: str | Path, *, db: str | Path | None = None
) -> Iterator[dict[str, Any]]:
    """Feed a trace through a fresh gateway; yields one result dict per call line.

    Tools run only when the policy names a ``handler`` for them; other calls are decided and
    charged against caps, but not executed (dry run).
    """
    lines = parse_trace(trace)
    resolver, clock = StaticResolver(), _Clock()
    handlers = _handlers(policy)
    store = SqliteStore(db or ":memory:")
    gateway = Gateway(policy, store=store, resolver=resolver, clock=clock, require_registered=False)
    for name, fn in handlers.items():
        gateway.add_function(fn, name=name)
    principals: dict[str, Principal] = {}
    sessions: dict[str, Session] = {}
    pending: dict[str | None, list[ContentLine]] = {}
    try:
        for number, line in lines:
            if isinstance(line, ResourceLine):
                resolver.add(line.kind, str(line.id), line.owner)
            elif isinstance(line, PrincipalLine):
                principals[line.id] = Principal(
                    line.id, line.kind, line.tenant, frozenset(line.roles), line.attrs
                )
            elif isinstance(line, ContentLine):
                if line.session in sessions:
                    sessions[line.session].add_content(
                        line.text, source=line.source, trusted=line.trusted
                    )
                else:  # waits for the call that says whose session it is
                    pending.setdefault(line.session, []).append(line)
            else:
                if line.ts is not None:
                    clock.now = line.ts
                session = _session(gateway, sessions, principals, line.session, line.principal)
                for content in [*pending.pop(None, []), *pending.pop(line.session, [])]:
                    session.add_content(
                        content.text, source=content.source, trusted=content.trusted
                    )
                yield _run_call(session, line, number)
    finally:
        gateway.close()
        store.close()


def _session(
    gateway: Gateway,
    sessions: dict[str, Session],
    principals: dict[str, Principal],
    session_id: str,
    principal: str,
) -> Session:
    session = sessions.get(session_id)
    if session is None:
        who = principals.get(principal, Principal(principal))
        session = sessions[session_id] = gateway.session(who, session_id)
    elif session.principal.id != principal:
        raise ConfigError(
            f"session {session_id!r} belongs to {session.principal.id!r}, not {principal!r}"
        )
    return session


def _run_call(session: Session, line: CallLine, number: int) -> dict[str, Any]:
    proposal = session.propose(line.tool, line.args, call_id=line.call_id)
    result = session.execute(proposal)  # tools without a handler are dry-run
    verdict = proposal.verdict
    out: dict[str, Any] = {
        "line": number,
        "tool": line.tool,
        "principal": line.principal,
        "session": line.session,
        "decision": verdict.decision,
        "reasons": list(verdict.reasons),
        "rules": list(verdict.rules),
        "errors": list(verdict.errors),
        "executed": result.executed,
    }
    if result.error:
        out["error"] = result.error
    return out
