"""How the proxy and the MCP gateway run guards: one adapter over the session's guard pipelines.

Three directions: ``input`` (what the user sends), ``untrusted`` (tool results and other
third-party content the model will read) and ``output`` (what the model sends back). A check
that errors, times out or cannot run at all is ``error``, which acts as ``block``: nothing
unchecked passes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from ringfence.audit import ErrorEvent
from ringfence.gateway import Session
from ringfence.provenance import ContentItem

GuardVerdict = Literal["pass", "flag", "block", "error"]
"""A guard pipeline's answer; ``error`` acts as ``block``."""

Direction = Literal["input", "untrusted", "output"]


@dataclass(frozen=True)
class Check:
    """The result of running one direction's guards over one text."""

    direction: Direction
    verdict: GuardVerdict
    findings: tuple[Any, ...] = ()
    latency_ms: float = 0.0
    errors: tuple[str, ...] = ()

    @property
    def blocked(self) -> bool:
        return self.verdict in ("block", "error")

    def summary(self) -> dict[str, Any]:
        kinds = sorted({str(getattr(f, "kind", f)) for f in self.findings})
        out: dict[str, Any] = {"verdict": self.verdict, "findings": kinds}
        if self.errors:
            out["errors"] = list(self.errors)
        return out


@runtime_checkable
class ContentChecker(Protocol):
    """Runs guards for the proxy. ``check`` covers ``input`` and ``output`` text; ``scan``
    covers an untrusted item already added to the session (and taints it when flagged)."""

    def check(self, session: Session, text: str, direction: Direction) -> Check: ...

    def scan(self, session: Session, item: ContentItem) -> Check: ...


def _from_result(direction: Direction, result: Any, started: float) -> Check:
    raw = str(getattr(result, "verdict", "error"))
    verdict: GuardVerdict = "error"
    if raw in ("pass", "flag", "block"):
        verdict = raw  # type: ignore[assignment]
    errors = tuple(str(e) for e in getattr(result, "errors", ()) or ())
    latency = getattr(result, "latency_ms", None)
    if latency is None:
        latency = (time.perf_counter() - started) * 1000
    return Check(
        direction, verdict, tuple(getattr(result, "findings", ()) or ()), float(latency), errors
    )


def _audit_error(session: Session, where: str, exc: BaseException | str) -> str:
    message = exc if isinstance(exc, str) else f"{type(exc).__name__}: {exc}"
    session.gateway.audit.append(
        ErrorEvent(where=where, message=message, session=session.id, principal=session.principal.id)
    )
    return message


class SessionGuards:
    """The guards configured on the session's gateway (``ringfence.guards``).

    Input and output text go through ``Session.check_input`` / ``Session.check_output``;
    untrusted content is scanned by ``Session.add_content`` itself, so ``scan`` reports what
    that scan decided (the item's taint). A gateway without guard support fails closed: every
    check is ``error``.
    """

    def check(self, session: Session, text: str, direction: Direction) -> Check:
        started = time.perf_counter()
        name = "check_input" if direction == "input" else "check_output"
        fn: Callable[[str], Any] | None = getattr(session, name, None)
        if fn is None:
            why = _audit_error(session, f"guards.{direction}", "guards are not available")
            return Check(direction, "error", errors=(why,))
        try:
            result = fn(text)
        except Exception as exc:  # a guard that raises never passes
            return Check(direction, "error", errors=(_audit_error(session, "guards", exc),))
        return _from_result(direction, result, started)

    def scan(self, session: Session, item: ContentItem) -> Check:
        if not hasattr(session, "check_input"):  # add_content ran no guards: fail closed
            why = _audit_error(session, "guards.untrusted", "guards are not available")
            session.taint(item.id, reason="not scanned: guards are not available")
            return Check("untrusted", "error", errors=(why,))
        current = session.index.get(item.id) or item
        tainted = current.tainted or bool(current.taint_spans)
        return Check("untrusted", "flag" if tainted else "pass")


@dataclass
class PatternChecker:
    """A small deterministic checker: regular expressions per direction (tests, demos, and
    deployments that want a fixed deny-list). A match blocks (``input``/``output``) or taints
    the matched spans (``untrusted``)."""

    patterns: dict[Direction, Sequence[str]] = field(default_factory=dict)

    def _matches(self, text: str, direction: Direction) -> list[tuple[int, int, str]]:
        import re

        out: list[tuple[int, int, str]] = []
        for pattern in self.patterns.get(direction, ()):
            out.extend((m.start(), m.end(), pattern) for m in re.finditer(pattern, text, re.I))
        return out

    def check(self, session: Session, text: str, direction: Direction) -> Check:
        started = time.perf_counter()
        hits = self._matches(text, direction)
        verdict: GuardVerdict = "block" if hits else "pass"
        return Check(
            direction,
            verdict,
            tuple(f"pattern:{p}" for _, _, p in hits),
            (time.perf_counter() - started) * 1000,
        )

    def scan(self, session: Session, item: ContentItem) -> Check:
        from ringfence.provenance import Span

        hits = self._matches(item.text, "untrusted")
        if hits:
            spans = tuple(Span(s, e, f"pattern:{p}") for s, e, p in hits)
            session.taint(item.id, spans=spans, reason="pattern")
        return Check(
            "untrusted", "flag" if hits else "pass", tuple(f"pattern:{p}" for _, _, p in hits)
        )
