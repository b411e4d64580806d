"""The policy's ``guards:`` section (pydantic). Unknown keys are rejected everywhere.

This module must not import :mod:`ringfence.policy` (the policy model imports it).

```yaml
guards:
  deadline_ms: 250                     # per request, for the whole pipeline of one direction
  refusal_template: "Sorry, I can't help with that."
  input:                               # the user's messages (absent: the default pipeline)
    - use: size
      with: {max_chars: 20000}
    - use: injection
      with: {fpr: 0.01}                # threshold from a target false-positive rate
      action: block
      low_confidence: {above: 0.5, action: refuse}
  untrusted:                           # tool results, pages, documents ([] : no guards)
    - use: injection
      action: flag                     # taints the flagged spans of the content
      low_confidence: {above: 0.4, action: approve}
  output:
    - {use: secrets, action: block}
    - {use: pii, action: redact, on_error: flag}
```
"""

from __future__ import annotations

from collections import Counter
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ringfence.guards._types import Action, OnError

_ID = r"^[A-Za-z0-9][A-Za-z0-9_.:\-]*$"

DEFAULT_DEADLINE_MS = 250.0
DEFAULT_REFUSAL = "Sorry, I can't help with that request."

LowConfidenceAction = Literal["approve", "refuse", "flag", "block", "log"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class LowConfidenceSpec(_Strict):
    """What to do when a score is uncertain: at least ``above`` but below the threshold."""

    above: float = Field(ge=0.0, le=1.0)
    """Lower end of the uncertain band (the upper end is the step's threshold)."""
    action: LowConfidenceAction = "approve"
    """``approve``: calls using values from the content need a person; ``refuse``: answer with the
    refusal template; ``flag``, ``block`` or ``log`` as for any finding."""


class GuardSpec(_Strict):
    """One step of a pipeline: a registered guard, its options and what its findings do."""

    use: str
    """Name of a registered guard (built in: size, unicode, encoding, injection, schema,
    allowlist, canary, secrets, pii, exfil, refusal; more from the ``ringfence.guards`` entry
    points)."""
    id: Annotated[str, Field(pattern=_ID)] | None = None
    """Name used in findings and audit events (default: ``use``); unique within a direction."""
    with_: dict[str, Any] = Field(default_factory=dict, alias="with")
    """The guard's own options (validated by the guard)."""
    action: Action | None = None
    """What a finding at or above the threshold does (default: the guard's own default)."""
    threshold: float | None = Field(default=None, ge=0.0, le=1.0)
    """Findings scoring below this are ignored (default: the guard's own, e.g. the detector's
    calibrated threshold)."""
    low_confidence: LowConfidenceSpec | None = None
    """The uncertain band below the threshold and its action (see the docs: low-confidence path)."""
    on_error: OnError = "block"
    """When the guard raises or misses the deadline: ``block`` (verdict ``error``), or, only when
    said explicitly, ``flag`` or ``pass``. Always audited."""

    @property
    def name(self) -> str:
        return self.id or self.use

    @model_validator(mode="after")
    def _known_guard(self) -> GuardSpec:
        from ringfence.exceptions import ConfigError
        from ringfence.guards._registry import guard_factory, options_model

        try:
            factory = guard_factory(self.use)
            model = options_model(self.use)
        except ConfigError as exc:
            raise ValueError(str(exc)) from exc
        if model is not None:
            try:
                model.model_validate(self.with_)
            except ValidationError as exc:
                raise ValueError(_options_problem(self.use, exc)) from exc
        if self.action == "redact" and not hasattr(factory, "rewrite"):
            raise ValueError(f"guard {self.use!r} cannot redact (it does not rewrite text)")
        low, threshold = self.low_confidence, self.threshold
        if low is not None and threshold is not None and low.above >= threshold:
            raise ValueError("low_confidence.above must be below the threshold")
        return self


def _options_problem(use: str, exc: ValidationError) -> str:
    parts = []
    for err in exc.errors(include_url=False):
        where = ".".join(str(p) for p in err["loc"]) or "(options)"
        msg = "unknown option" if err["type"] == "extra_forbidden" else err["msg"]
        parts.append(f"with.{where}: {msg}")
    return f"guard {use!r}: " + "; ".join(parts)


class GuardsSpec(_Strict):
    """Guard pipelines per direction. A direction that is absent gets the default pipeline; an
    empty list means no guards for that direction."""

    deadline_ms: float = Field(default=DEFAULT_DEADLINE_MS, gt=0.0, le=60_000.0)
    """Per-request deadline of one direction's whole pipeline; a guard still running then gives
    ``error`` (fail closed)."""
    refusal_template: str = DEFAULT_REFUSAL
    """What the user is told when a finding's action is ``refuse``."""
    isolate: bool = False
    """Run every guard in a worker thread, so even built-in guards are cut off at the deadline
    (each request then pays a thread hand-off; by default built-in guards run in the calling
    thread and a late result is an error)."""
    input: list[GuardSpec] | None = None
    """Guards on the user's messages."""
    untrusted: list[GuardSpec] | None = None
    """Guards on third-party content the model reads (tool results, pages, documents)."""
    output: list[GuardSpec] | None = None
    """Guards on the model's answers."""

    @model_validator(mode="after")
    def _unique_names(self) -> GuardsSpec:
        for direction in ("input", "untrusted", "output"):
            steps: list[GuardSpec] = getattr(self, direction) or []
            counts = Counter(step.name for step in steps)
            dupes = sorted(name for name, n in counts.items() if n > 1)
            if dupes:
                raise ValueError(
                    f"{direction}: guard names must be unique ({dupes}); give each an 'id'"
                )
        return self


__all__ = ["GuardSpec", "GuardsSpec", "LowConfidenceSpec"]
