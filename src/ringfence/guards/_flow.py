"""Guards in the one flow: a session's content is checked as it is added, and what the guards
find feeds the policy.

- Untrusted content goes through the ``untrusted`` pipeline, the user's messages through
  ``input``; other trusted content (system, developer, trusted tools) is not checked.
- Findings whose action is ``block``, ``flag`` or ``refuse`` (and errors, unless ``on_error`` says
  otherwise) **taint** the item: only the flagged span when the finding has one, else the whole
  item. Provenance rules then treat every value that comes from it as ``tainted`` (``tainted:
  deny`` denies the call). Structured items (tool results with fields) are tainted whole: the
  value-origin index keeps taint per item for them.
- Findings whose action is ``approve`` (the low-confidence path) mark the item (or span) as
  *uncertain*: a call whose argument values come from it, and from no trusted untainted content,
  gets ``approve`` instead of ``allow`` (rule id ``guard:NAME``). ``deny`` and ``error`` stay.
- Every run is audited as a ``guard`` event (durable when the verdict is ``block`` or ``error``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from ringfence.guards._events import GuardEvent
from ringfence.guards._pipeline import DEFAULT_LABELS, GuardPipeline
from ringfence.guards._types import Action, Direction, GuardReport, GuardResult
from ringfence.policy._types import ToolCall, Verdict
from ringfence.provenance import ContentItem, Label, Span, ValueOriginIndex

Audit = Callable[..., None]

_TAINT: tuple[Action, ...] = ("block", "flag", "refuse")


def direction_of(label: Label) -> Direction | None:
    """Which pipeline checks content with ``label``: untrusted -> ``untrusted``, the user's own
    messages -> ``input``, other trusted content -> none."""
    if not label.trusted:
        return "untrusted"
    return "input" if label.kind == "user" else None


class ContentScreen:
    """One session's guard state: the report per content item and the uncertain content."""

    def __init__(self, pipeline: GuardPipeline) -> None:
        self.pipeline = pipeline
        self.reports: dict[str, GuardReport] = {}
        self._uncertain = ValueOriginIndex()
        self._why: dict[str, tuple[str, ...]] = {}
        self._lock = threading.Lock()

    # --- content ---------------------------------------------------------------------------

    def screen(self, item: ContentItem, audit: Audit) -> ContentItem:
        """Check ``item`` and return it tainted as its findings say (see the module docstring)."""
        direction = direction_of(item.label)
        if direction is None:
            return item
        report = self.pipeline.evaluate(item.text, item.label, direction)
        event = GuardEvent.of(report, item.text, item_id=item.id, source=item.label.source)
        audit(event, durable=report.result.blocked)
        with self._lock:
            self.reports[item.id] = report
        self._mark_uncertain(item, report)
        return self._taint(item, report)

    def _taint(self, item: ContentItem, report: GuardReport) -> ContentItem:
        findings = report.acted(*_TAINT)
        if not findings:
            return item
        reasons = tuple(f"guard {f.guard}: {f.kind} ({f.score:.2f})" for f in findings)
        whole = bool(item.fields) or any(f.span is None for f in findings)
        pairs = zip(findings, reasons, strict=True)
        spans = () if whole else tuple(Span(*f.span, r) for f, r in pairs if f.span)
        return replace(
            item,
            tainted=item.tainted or whole,
            taint_spans=(*item.taint_spans, *spans),
            taint_reasons=(*item.taint_reasons, *reasons),
        )

    def _mark_uncertain(self, item: ContentItem, report: GuardReport) -> None:
        findings = report.acted("approve")
        if not findings:
            return
        if bool(item.fields) or any(f.span is None for f in findings):
            marked = replace(item, tainted=False, taint_spans=())
        else:
            pieces = [item.text[a:b] for f in findings if f.span for a, b in [f.span]]
            marked = ContentItem(item.id, item.label, "\n\u2063\n".join(pieces))
        with self._lock:
            self._uncertain.add(marked)
            self._why[item.id] = tuple(dict.fromkeys(f.guard for f in findings))

    # --- calls -----------------------------------------------------------------------------

    def escalate(self, call: ToolCall, verdict: Verdict, index: ValueOriginIndex) -> Verdict:
        """``approve`` instead of ``allow`` when an argument value comes from uncertain content;
        ``error`` if that cannot be determined."""
        if verdict.decision not in ("allow", "approve") or not len(self._uncertain):
            return verdict
        try:
            return self._escalate(call, verdict, index)
        except Exception as exc:  # fail closed
            return replace(
                verdict,
                decision="error",
                reasons=("guard escalation failed",),
                rules=("guard",),
                errors=(f"guard escalation: {exc!r}",),
            )

    def _escalate(self, call: ToolCall, verdict: Verdict, index: ValueOriginIndex) -> Verdict:
        guards: dict[str, None] = {}
        for arg, value in call.args.items():
            with self._lock:
                uncertain = self._uncertain.lookup(value, arg)
            known = index.lookup(value, arg)
            for leaf, seen in zip(uncertain, known, strict=True):
                if leaf.origins and seen.status != "trusted":
                    for origin in leaf.origins:
                        guards.update(dict.fromkeys(self._why.get(origin.item_id, ("guard",))))
        if not guards:
            return verdict
        reason = "a value comes from content a guard was not sure about (low confidence)"
        rules = tuple(f"guard:{g}" for g in guards)
        base_reasons = verdict.reasons if verdict.decision == "approve" else ()
        base_rules = verdict.rules if verdict.decision == "approve" else ()
        return replace(
            verdict,
            decision="approve",
            reasons=(*base_reasons, reason),
            rules=tuple(dict.fromkeys((*base_rules, *rules))),
            categories=tuple(dict.fromkeys((*verdict.categories, "provenance"))),
        )

    # --- apps ------------------------------------------------------------------------------

    def check(self, text: str, direction: Direction, audit: Audit) -> GuardResult:
        """Run a direction's pipeline on ``text`` (e.g. the model's answer) and audit it."""
        report = self.pipeline.evaluate(text, DEFAULT_LABELS[direction], direction)
        audit(GuardEvent.of(report, text), durable=report.result.blocked)
        return report.result

    async def acheck(self, text: str, direction: Direction, audit: Audit) -> GuardResult:
        """:meth:`check` without blocking the event loop (the audit append may still block)."""
        report = await self.pipeline.aevaluate(text, DEFAULT_LABELS[direction], direction)
        audit(GuardEvent.of(report, text), durable=report.result.blocked)
        return report.result


def screen_for(gateway: Any) -> ContentScreen | None:
    """A session's screen, when its gateway has a guard pipeline."""
    pipeline = getattr(gateway, "guards", None)
    return ContentScreen(pipeline) if isinstance(pipeline, GuardPipeline) else None
