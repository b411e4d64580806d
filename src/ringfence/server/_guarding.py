"""How the proxy and the MCP gateway run guards: one adapter over the session's guard pipelines.

Three directions: ``input`` (what the user sends), ``untrusted`` (tool results and other
third-party content the model will read) and ``output`` (what the model sends back). A check
that errors, times out or cannot run at all is ``error``, which acts as ``block``: nothing
unchecked passes.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, Protocol, runtime_checkable

from ringfence.audit import ErrorEvent
from ringfence.gateway import Session
from ringfence.guards import GuardPipeline
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
    text: str | None = None
    """The rewritten text when a guard changed it (redaction, normalisation); else ``None``."""

    @property
    def blocked(self) -> bool:
        return self.verdict in ("block", "error")

    def summary(self) -> dict[str, Any]:
        kinds = sorted({str(getattr(f, "kind", f)) for f in self.findings})
        out: dict[str, Any] = {"verdict": self.verdict, "findings": kinds}
        if self.text is not None:
            out["rewritten"] = True
        if self.errors:
            out["errors"] = list(self.errors)
        return out


@runtime_checkable
class ContentChecker(Protocol):
    """Runs guards for the proxy. ``check`` covers ``input`` and ``output`` text; ``scan``
    covers an untrusted item already added to the session (and taints it when flagged).
    A checker whose checks are bounded CPU work (no I/O, no waiting) may say so with a class
    attribute ``inline = True``: the proxy then runs them on its event loop (see
    :func:`checks_inline`); any other checker runs in a worker thread."""

    def check(self, session: Session, text: str, direction: Direction) -> Check: ...

    def scan(self, session: Session, item: ContentItem) -> Check: ...


def _from_result(
    direction: Direction, result: Any, started: float, original: str | None = None
) -> Check:
    raw = str(getattr(result, "verdict", "error"))
    verdict: GuardVerdict = "error"
    if raw in ("pass", "flag", "block"):
        verdict = raw  # type: ignore[assignment]
    errors = tuple(str(e) for e in getattr(result, "errors", ()) or ())
    latency = getattr(result, "latency_ms", None)
    if latency is None:
        latency = (time.perf_counter() - started) * 1000
    text = getattr(result, "text", None)
    rewritten = text if isinstance(text, str) and text != original else None
    findings = tuple(getattr(result, "findings", ()) or ())
    return Check(direction, verdict, findings, float(latency), errors, rewritten)


def _audit_error(session: Session, where: str, exc: BaseException | str) -> str:
    message = exc if isinstance(exc, str) else f"{type(exc).__name__}: {exc}"
    session.gateway.audit.append(
        ErrorEvent(where=where, message=message, session=session.id, principal=session.principal.id)
    )
    return message


def scan_direction(item: ContentItem) -> Direction | None:
    """Which check an item added to a session gets: the user's own text ``input``, untrusted
    content ``untrusted``, other trusted content (system, developer) none."""
    if not item.label.trusted:
        return "untrusted"
    return "input" if item.label.kind == "user" else None


def checks_inline(checker: ContentChecker, gateway: Any, directions: Sequence[Direction]) -> bool:
    """Whether ``checker``'s checks in ``directions`` may run on an event loop: bounded CPU work
    that never waits on a thread or the network. :class:`SessionGuards`: every guard of the
    gateway's pipeline in those directions runs inline (the built-in guards do; a custom or
    ``isolate``d guard runs in a thread, so it does not). Other checkers: ``inline = True``."""
    if not isinstance(checker, SessionGuards):
        return getattr(checker, "inline", False) is True
    pipeline = getattr(gateway, "guards", None)
    if not isinstance(pipeline, GuardPipeline):
        return True  # no pipeline: every check is an immediate error
    return all(pipeline.runs_inline(d) for d in directions)


class SessionGuards:
    """The guard pipeline of the session's gateway (``Gateway(guards=build_pipeline(policy))``).

    ``Session.add_content`` already screens each item (user text with the ``input`` pipeline,
    untrusted content with ``untrusted``, tainting what they flag), so ``scan`` reads that
    report instead of running the guards twice; ``check`` runs ``Session.check_output`` /
    ``check_input``. A gateway without a guard pipeline fails closed: every check is ``error``.
    """

    def check(self, session: Session, text: str, direction: Direction) -> Check:
        started = time.perf_counter()
        if getattr(session, "guards", None) is None:
            return _unavailable(session, direction)
        fn = session.check_input if direction == "input" else session.check_output
        try:
            result = fn(text)
        except Exception as exc:  # a guard that raises never passes
            return Check(direction, "error", errors=(_audit_error(session, "guards", exc),))
        return _from_result(direction, result, started, text)

    def scan(self, session: Session, item: ContentItem) -> Check:
        direction = scan_direction(item)
        if direction is None:
            return Check("input", "pass")
        screen = getattr(session, "guards", None)
        if screen is None:
            session.taint(item.id, reason="not scanned: no guard pipeline")
            return _unavailable(session, direction)
        report = screen.reports.get(item.id)
        if report is None:
            session.taint(item.id, reason="not scanned: no guard report")
            why = _audit_error(session, f"guards.{direction}", f"no report for {item.id}")
            return Check(direction, "error", errors=(why,))
        return _from_result(direction, report.result, time.perf_counter(), item.text)


def _unavailable(session: Session, direction: Direction) -> Check:
    why = _audit_error(session, f"guards.{direction}", "the gateway has no guard pipeline")
    return Check(direction, "error", errors=(why,))


@dataclass
class PatternChecker:
    """A small deterministic checker: regular expressions per direction (tests, demos, and
    deployments that want a fixed deny-list). A match blocks (``input``/``output``) or taints
    the matched spans (``untrusted``)."""

    patterns: dict[Direction, Sequence[str]] = field(default_factory=dict)
    inline: ClassVar[bool] = True
    """Regular expressions are bounded CPU work: they may run on the event loop."""

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

        direction = scan_direction(item)
        if direction is None:
            return Check("input", "pass")
        hits = self._matches(item.text, direction)
        if hits:
            spans = tuple(Span(s, e, f"pattern:{p}") for s, e, p in hits)
            session.taint(item.id, spans=spans, reason="pattern")
        verdict: GuardVerdict = "pass" if not hits else "block" if direction == "input" else "flag"
        return Check(direction, verdict, tuple(f"pattern:{p}" for _, _, p in hits))
