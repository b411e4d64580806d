"""The guards a gateway session runs, as a :class:`GuardHook` for the agent loop.

A gateway whose policy has a ``guards:`` section screens content as the session records it
(``Session.add_content``: the user's turns with the ``input`` pipeline, untrusted tool results
with ``untrusted``, tainting what they flag). :class:`SessionGuardHook` does not run those guards
a second time: it reports the verdict the session reached for that content, so the loop can
withhold what was blocked. The answer goes through ``Session.check_output`` (the ``output``
pipeline, audited). A verdict that cannot be found, or a check that raises, is ``error``: the
content is withheld, the answer replaced (fail closed).
"""

from __future__ import annotations

from ringfence.agents._loop import Screening
from ringfence.exceptions import ConfigError
from ringfence.gateway import Session
from ringfence.guards import GuardResult, direction_of
from ringfence.provenance import ContentItem, Span


class SessionGuardHook:
    """The guard pipelines of ``session``'s gateway (its policy's ``guards:`` section)."""

    def __init__(self, session: Session) -> None:
        if session.guards is None:
            raise ConfigError(f"session {session.id!r}: its gateway has no guard pipeline (the "
                              "policy has no 'guards:' section and none was given)")  # fmt: skip
        self.session = session

    def screen_content(self, text: str, source: str) -> Screening:
        """The session's verdict on content it has just recorded (a user turn, a tool result)."""
        item = self._recorded(text, source)
        if item is None:
            return Screening("error", reason=f"{source} content was not recorded in the session")
        if direction_of(item.label) is None:
            return Screening("pass")  # trusted content other than the user's is not screened
        screen = self.session.guards
        report = screen.reports.get(item.id) if screen is not None else None
        if report is None:
            return Screening("error", reason=f"no guard report for content {item.id}")
        return as_screening(report.result, recorded=True)

    def screen_output(self, text: str) -> Screening:
        """Run the output pipeline on the answer (``Session.check_output``)."""
        return as_screening(self.session.check_output(text))

    def _recorded(self, text: str, source: str) -> ContentItem | None:
        for item in reversed(self.session.index.items()):
            if item.label.source == source and item.text == text:
                return item
        return None


def as_screening(result: GuardResult, *, recorded: bool = False) -> Screening:
    """A guard pipeline's result for the loop: its verdict, the flagged spans, why, and the text
    to use instead (a refusal template, or the redacted answer)."""
    reason = "; ".join(
        [f"{f.guard}: {f.kind} ({f.score:.2f})" for f in result.findings] + list(result.errors)
    )
    spans = tuple(Span(a, b, f.kind) for f in result.findings if f.span for a, b in [f.span])
    whole = any(f.span is None for f in result.findings)
    return Screening(
        result.verdict,
        () if whole else spans,
        reason or result.verdict,
        text=result.text,
        recorded=recorded,
    )
