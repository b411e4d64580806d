"""The suite file's schema (pydantic). Unknown keys are rejected everywhere.

A case has an id, a category, tags, user turns, optional content injected into its environment,
and two blocks of deterministic checks: ``expect`` (what a correct run does: the task, used for
utility) and ``safety`` (what must not happen: any failed safety check is a successful attack).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    field_validator,
    model_validator,
)

Category = Literal["normal", "edge", "attack"]
"""``normal``: an ordinary request; ``edge``: legitimate but unusual (boundary values, other
languages, wording a nervous system would refuse); ``attack``: an attempt to make the agent do
or say what it must not."""

Outcome = Literal["complied", "refused", "blocked", "error", "unscorable"]
"""How a case ended.

- ``complied``: the agent did what was asked (for an attack: the attack succeeded);
- ``refused``: the model declined (for an attack: it did not carry it out, explicitly or by
  ignoring it);
- ``blocked``: ringfence stopped it (a call was denied, needs approval or failed a check; a
  guard blocked content);
- ``error``: the run failed (target unreachable, exception); counts against the target;
- ``unscorable``: a check could not be evaluated (missing state, no grader); counts against.
"""

CallStatus = Literal["executed", "attempted", "blocked", "approval"]
"""Which calls a call matcher counts: ``executed`` (ran without error, the default),
``attempted`` (proposed, whatever happened), ``blocked`` (denied, approval needed, or errored
check) or ``approval`` (a person's approval was requested)."""

_ID = r"^[A-Za-z0-9][A-Za-z0-9_.:\-]*$"
_TAG = r"^[A-Za-z0-9][A-Za-z0-9_.:\-]*$"
_OWASP = re.compile(r"^(LLM|ASI)(\d+)$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Ops(_Strict):
    """One comparison: ``{ge: 1}``, ``{contains: "evil"}``, ``{matches: "^48"}``."""

    eq: Any = None
    ne: Any = None
    lt: float | None = None
    le: float | None = None
    gt: float | None = None
    ge: float | None = None
    contains: Any = None
    """Case-insensitive substring (strings) or membership (lists)."""
    not_contains: Any = None
    matches: str | None = None
    """A regular expression searched in the value's text."""
    in_: list[Any] | None = Field(default=None, alias="in")
    exists: bool | None = None

    @model_validator(mode="after")
    def _one(self) -> Ops:
        if len(self.model_fields_set) != 1:
            raise ValueError(
                "a matcher needs exactly one of eq, ne, lt, le, gt, ge, contains, "
                "not_contains, matches, in, exists"
            )
        if self.matches is not None:
            try:
                re.compile(self.matches)
            except re.error as exc:
                raise ValueError(f"invalid regular expression {self.matches!r}: {exc}") from exc
        return self

    def op(self) -> tuple[str, Any]:
        name = next(iter(self.model_fields_set))
        return ("in" if name == "in_" else name), getattr(self, name)


Matcher = Ops | StrictBool | StrictInt | StrictFloat | StrictStr | None
"""A literal (equality: numbers numerically, text case-insensitively) or an :class:`Ops`."""


class CallMatcher(_Strict):
    """Tool calls of one tool whose arguments match."""

    tool: str = Field(min_length=1)
    args: dict[str, Matcher] = Field(default_factory=dict)
    """Argument name -> matcher; arguments not named here may have any value."""
    status: CallStatus = "executed"
    count: Matcher = None
    """How many matching calls there must be (in ``calls``; default: at least one)."""


class StateCheck(_Strict):
    """A predicate on the environment's state after the run.

    ``{path: refunds, where: {order_id: "5100"}, count: 0}``,
    ``{path: refunds, sum: amount, total: {le: 100}}``, ``{path: orders.4830.status, value: x}``.
    """

    path: str = Field(min_length=1)
    """Dotted path into the state (list items by index)."""
    where: dict[str, Matcher] = Field(default_factory=dict)
    """Keep only list items whose fields match (for ``count`` and ``sum``)."""
    count: Matcher = None
    sum: str | None = None
    """Field of the (filtered) items to add up; compared with ``total``."""
    total: Matcher = None
    value: Matcher = None
    description: str | None = None

    @model_validator(mode="after")
    def _one(self) -> StateCheck:
        given = [k for k in ("count", "total", "value") if k in self.model_fields_set]
        if len(given) != 1:
            raise ValueError("a state check needs exactly one of count, value, or sum + total")
        if ("total" in given) != (self.sum is not None):
            raise ValueError("'sum: FIELD' and 'total: MATCHER' go together")
        return self


class Checks(_Strict):
    """Deterministic checks on one run (all must hold)."""

    calls: list[CallMatcher] = Field(default_factory=list)
    """Calls that must happen."""
    no_calls: list[CallMatcher] = Field(default_factory=list)
    """Calls that must not happen."""
    state: list[StateCheck] = Field(default_factory=list)
    output_contains: list[str] = Field(default_factory=list)
    """Texts the answers must contain (case- and width-insensitive)."""
    output_not_contains: list[str] = Field(default_factory=list)
    refusal: Literal["must", "must_not"] | None = None
    """The final answer must (not) be a refusal, as the refusal detector reads it."""
    judge: str | None = None
    """A rubric for an optional model grader; without a grader the case is unscorable."""

    def empty(self) -> bool:
        return not (self.calls or self.no_calls or self.state or self.output_contains
                    or self.output_not_contains or self.refusal or self.judge)  # fmt: skip


class Case(_Strict):
    """One eval case."""

    id: Annotated[str, Field(pattern=_ID)]
    category: Category
    tags: list[Annotated[str, Field(pattern=_TAG)]] = Field(default_factory=list)
    """OWASP LLM Top 10 (2025) ids like ``LLM01``, OWASP Agentic ids like ``ASI02``, technique
    and channel names."""
    description: str = ""
    turns: list[str] = Field(min_length=1)
    """The user's turns, in order (a single string is one turn)."""
    principal: str | None = None
    """Who the user is (default: the suite's, else the environment's)."""
    environment: dict[str, Any] = Field(default_factory=dict)
    """Content injected into the environment (validated by the environment's setup model)."""
    expect: Checks = Field(default_factory=Checks)
    """The task: what a correct run does (utility)."""
    safety: Checks = Field(default_factory=Checks)
    """What must not happen; for attacks, any failed safety check is a successful attack."""

    @field_validator("turns", mode="before")
    @classmethod
    def _one_turn(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("tags")
    @classmethod
    def _owasp_ids(cls, tags: list[str]) -> list[str]:
        for tag in tags:
            m = _OWASP.match(tag)
            if m and not (1 <= int(m.group(2)) <= 10 and len(m.group(2)) == 2):
                raise ValueError(f"{tag!r} is not an OWASP id ({m.group(1)}01 .. {m.group(1)}10)")
        return tags

    @model_validator(mode="after")
    def _has_checks(self) -> Case:
        if self.category == "attack" and self.safety.empty():
            raise ValueError("an attack case needs 'safety' checks (what must not happen)")
        if self.category != "attack" and self.expect.empty():
            raise ValueError(f"a {self.category} case needs 'expect' checks (the task)")
        return self


class SuiteMeta(_Strict):
    """Suite-level settings (YAML top level, or the first line ``{"suite": {...}}`` of JSONL)."""

    version: Literal[1] = 1
    name: str = Field(min_length=1)
    description: str = ""
    environment: str = "support-desk"
    """The environment every case runs in."""
    principal: str | None = None


class SuiteSpec(SuiteMeta):
    """A whole YAML suite file."""

    cases: list[Case] = Field(min_length=1)
