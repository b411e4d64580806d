"""Run-time values of guards: findings, results, the ``Guard`` protocol.

A guard looks at one text (with its provenance label) and returns *findings*. The pipeline turns
findings into a verdict with the policy's thresholds and actions; a guard never decides alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

from ringfence.provenance import Label

GuardVerdict = Literal["pass", "flag", "block", "error"]
"""The answer of a guard (or a whole pipeline) for one text.

- ``pass``: nothing found that the policy acts on.
- ``flag``: something was found; the text may be used, but it is marked (untrusted content that is
  flagged taints every value that comes from it; ``approve`` findings send calls using its values
  to a person).
- ``block``: the text must not be used (input: do not send it to the model; output: do not show it).
- ``error``: a guard raised or timed out. Acts exactly like ``block`` unless the policy explicitly
  says otherwise for that guard (``on_error``).
"""

Direction = Literal["input", "untrusted", "output"]
"""Where a text is on its way: ``input`` (the user's messages to the model), ``untrusted``
(third-party content the model reads: tool results, web pages, documents) or ``output`` (the
model's answer)."""

Action = Literal["block", "flag", "approve", "refuse", "redact", "log"]
"""What the policy does with a finding:

- ``block``: verdict ``block``.
- ``flag``: verdict ``flag`` (content added to a session is tainted: whole item, or the span).
- ``approve``: verdict ``flag``; tool calls whose argument values come from the flagged content (or
  span) need a person's approval instead of being decided automatically.
- ``refuse``: verdict ``block`` and the result's ``text`` is the policy's refusal template, to be
  given to the user instead of a guess.
- ``redact``: verdict ``flag`` and the result's ``text`` is rewritten by the guard (masking).
- ``log``: verdict ``pass``; the finding is kept and audited (observe mode, for tuning).
"""

OnError = Literal["block", "flag", "pass"]
"""What a guard that raises or times out gives: ``block`` (the default: verdict ``error``, which
acts as block), ``flag`` or ``pass`` (only when a policy says so explicitly; still audited)."""

_SEVERITY: dict[GuardVerdict, int] = {"pass": 0, "flag": 1, "block": 2, "error": 3}
_ACTION_VERDICT: dict[Action, GuardVerdict] = {
    "block": "block",
    "refuse": "block",
    "flag": "flag",
    "approve": "flag",
    "redact": "flag",
    "log": "pass",
}


def worst(verdicts: Sequence[GuardVerdict]) -> GuardVerdict:
    """The most severe verdict: ``error`` > ``block`` > ``flag`` > ``pass``."""
    return max(verdicts, key=_SEVERITY.__getitem__, default="pass")


def verdict_of(action: Action) -> GuardVerdict:
    """The verdict a finding with ``action`` gives."""
    return _ACTION_VERDICT[action]


@dataclass(frozen=True)
class Finding:
    """One thing a guard found. ``score`` is in [0, 1] (1: certain); ``span`` is a character range
    of the checked text, or ``None`` when the finding is about the whole text."""

    guard: str
    kind: str
    score: float
    span: tuple[int, int] | None
    message: str


@dataclass(frozen=True)
class GuardResult:
    """A pipeline's answer for one text. ``text`` is the rewritten text when a guard rewrote it
    (redaction, unicode normalisation, a refusal template), else ``None``."""

    verdict: GuardVerdict
    findings: tuple[Finding, ...]
    latency_ms: float
    errors: tuple[str, ...] = ()
    text: str | None = None

    @property
    def blocked(self) -> bool:
        """``block`` or ``error``: the text must not be used."""
        return self.verdict in ("block", "error")


@dataclass(frozen=True)
class GuardReport:
    """A result plus what the policy does with each finding (``actions[i]`` for ``findings[i]``)."""

    result: GuardResult
    actions: tuple[Action, ...]
    direction: Direction
    cached: bool = False
    """The verdict was reused from an identical earlier text (a pipeline's verdict cache)."""

    def acted(self, *actions: Action) -> list[Finding]:
        """The findings whose action is one of ``actions``."""
        return [f for f, a in zip(self.result.findings, self.actions, strict=True) if a in actions]


@runtime_checkable
class Guard(Protocol):
    """A check on content. Register implementations with :func:`ringfence.guards.guard`.

    ``check`` returns findings with scores in [0, 1]; the pipeline keeps those at or above
    ``threshold`` (or the policy's) and maps them to a verdict with the step's action
    (``default_action`` unless the policy says otherwise). ``check`` may raise: the pipeline turns
    that into ``error``. It must be thread-safe (guards run concurrently, in worker threads).

    Optional methods the pipeline uses when present:

    - ``rewrite(text) -> str``: the text with this guard's findings masked (action ``redact``);
    - ``calibrate(threshold, floor)``: told the effective threshold and the lowest score the
      policy cares about (the low-confidence band), before the first check;
    - ``async acheck(text, label)``: used by :meth:`GuardPipeline.arun` instead of ``check``.

    Optional attribute ``inline = True``: the guard does only bounded CPU work (no I/O, nothing
    that can hang), so :meth:`GuardPipeline.run` may call it in the calling thread; its result
    then counts only if it finished before the deadline.

    Optional attribute ``pure = True``: the findings depend only on the text and its label (no
    state that changes after the pipeline is built, no clock, no randomness), so a pipeline with
    a verdict cache may reuse them for the same text (see ``GuardPipeline(cache_size=...)``).
    """

    name: str
    threshold: float
    default_action: Action

    def check(self, text: str, label: Label) -> Sequence[Finding]: ...


__all__ = [
    "Action",
    "Direction",
    "Finding",
    "Guard",
    "GuardReport",
    "GuardResult",
    "GuardVerdict",
    "OnError",
    "verdict_of",
    "worst",
]
