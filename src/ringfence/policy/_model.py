"""The policy file's schema (pydantic). Unknown keys are rejected everywhere.

Every check a policy declares is a *rule* with an id. Argument constraints get derived ids
(``refund.args.amount.maximum``); caps, provenance rules and conditional rules carry their own.
"""

from __future__ import annotations

import re
import typing
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    SerializerFunctionWrapHandler,
    Tag,
    field_validator,
    model_serializer,
    model_validator,
)

from ringfence.guards._config import GuardsSpec
from ringfence.policy._types import CapScope

Effect = Literal["allow", "deny", "approve"]
"""A tool's base effect: may run, may never run, or may run once a human approves."""

OnViolation = Literal["deny", "approve"]

ArgType = Literal["string", "integer", "number", "boolean", "array", "object", "any"]

_ID = r"^[A-Za-z0-9][A-Za-z0-9_.:\-/]*$"
_TOOL = r"^[A-Za-z0-9_][A-Za-z0-9_.:\-]*$"
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}


def parse_duration(value: object) -> float:
    """Seconds from ``90``, ``"90s"``, ``"30m"``, ``"24h"``, ``"7d"`` or ``"1w"``."""
    if isinstance(value, bool):
        raise ValueError("a duration must be a number of seconds or a string like '24h'")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and (m := _DURATION.match(value)):
        seconds = float(m.group(1)) * _UNITS[m.group(2) or "s"]
    else:
        raise ValueError(f"invalid duration {value!r}: use seconds or e.g. '30m', '24h', '7d'")
    if seconds <= 0:
        raise ValueError("a duration must be positive")
    return seconds


class _Strict(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, populate_by_name=True, use_attribute_docstrings=True
    )


def _check_regex(value: str | None) -> str | None:
    if value is not None:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"invalid regular expression {value!r}: {exc}") from exc
    return value


class ArgSpec(_Strict):
    """Constraints on one argument. Each set constraint is a rule ``TOOL.args.ARG.NAME``."""

    type: ArgType | None = None
    """JSON type the value must have (``number`` accepts integers)."""
    required: bool = False
    """The argument must be present."""
    enum: list[str | int | float | bool] | None = None
    """The value must be one of these."""
    minimum: float | None = None
    """Numbers: value >= minimum."""
    maximum: float | None = None
    """Numbers: value <= maximum (a per-call limit such as a refund of at most 40)."""
    exclusive_minimum: float | None = None
    """Numbers: value > exclusive_minimum."""
    exclusive_maximum: float | None = None
    """Numbers: value < exclusive_maximum."""
    min_length: int | None = Field(default=None, ge=0)
    """Strings: at least this many characters."""
    max_length: int | None = Field(default=None, ge=0)
    """Strings: at most this many characters."""
    pattern: str | None = None
    """Strings: must match this regular expression (``re.search``; anchor it with ^...$)."""
    max_items: int | None = Field(default=None, ge=0)
    """Arrays: at most this many items (e.g. recipients per message)."""
    equals_principal: str | None = None
    """The value must equal this attribute of the calling principal (``id``, ``tenant``,
    ``attrs.account``)."""
    in_principal: str | None = None
    """The value (or every item of it) must be in this list attribute of the principal."""
    owned_by_principal: str | None = None
    """Resource kind: the resource named by the value must be owned by the principal, as the
    application's ownership lookup says (e.g. ``order``)."""
    message: str | None = None
    """What the model is told when this argument is rejected (default: a generic message)."""

    _check_pattern = field_validator("pattern")(_check_regex)


class CapSpec(_Strict):
    """A limit over a window: a sum of an argument, a count of calls, or distinct values."""

    id: Annotated[str, Field(pattern=_ID)]
    """Rule id."""
    sum: str | None = None
    """Argument whose numeric values are summed (e.g. ``amount``)."""
    count: bool = False
    """Count calls (a rate limit)."""
    distinct: str | None = None
    """Argument whose distinct values are counted (e.g. ``to``: at most N recipients)."""
    max: float = Field(ge=0)
    """The limit; a call that would take usage above it is refused."""
    window: float
    """Window length: seconds or ``'30m'``, ``'24h'``, ``'7d'``."""
    per: CapScope = "principal"
    """Whose usage is counted together: ``principal``, ``session``, ``tenant`` or ``global``."""
    on_exceed: OnViolation = "deny"
    """What happens when the cap would be exceeded."""
    tools: list[str] | None = None
    """Top-level caps only: the tools whose calls count (tool-level caps count their tool)."""
    message: str | None = None
    """What the model is told when the cap refuses a call."""

    _parse_window = field_validator("window", mode="before")(parse_duration)

    @model_validator(mode="after")
    def _one_kind(self) -> CapSpec:
        kinds = [k for k in ("sum", "distinct") if getattr(self, k)] + (["count"] * self.count)
        if len(kinds) != 1:
            raise ValueError(
                "a cap needs exactly one of 'sum: ARG', 'count: true', 'distinct: ARG'"
            )
        return self

    @property
    def kind(self) -> Literal["sum", "count", "distinct"]:
        return "sum" if self.sum else "distinct" if self.distinct else "count"

    @property
    def arg(self) -> str | None:
        return self.sum or self.distinct


ExtractKind = Literal["url", "email", "iban"]
"""Destinations a provenance rule can find inside free text (see ``ProvenanceSpec.extract``)."""


class ProvenanceSpec(_Strict):
    """Where the values of sensitive arguments must come from, and what happens otherwise."""

    id: Annotated[str, Field(pattern=_ID)]
    """Rule id."""
    args: list[str] = Field(min_length=1)
    """Arguments this rule covers (e.g. ``to``, ``iban``, ``url``, ``amount``)."""
    from_: list[str] = Field(default_factory=lambda: ["trusted"], alias="from", min_length=1)
    """Sources a value may come from: ``trusted`` (any trusted content), ``user``, ``system``,
    ``developer``, ``tool:NAME``, ``tool:NAME#FIELD.PATTERN``, globs allowed."""
    otherwise: OnViolation = "approve"
    """When a value occurs only in other content, or in none (invented by the model)."""
    tainted: OnViolation = "deny"
    """When a value occurs in content a guard flagged (e.g. as a prompt injection)."""
    extract: list[ExtractKind] = Field(default_factory=list)
    """For free-text arguments (a message body, a post): trace the URLs, e-mail addresses or
    IBANs written *inside* the value, each on its own, instead of the whole value (which the
    model wrote and which occurs nowhere). A value with none of them passes the rule."""
    message: str | None = None
    """What the model is told when this rule refuses a call."""

    @model_serializer(mode="wrap")
    def _omit_empty_extract(self, handler: SerializerFunctionWrapHandler) -> Any:
        data = handler(self)
        if isinstance(data, dict) and data.get("extract", 0) == []:
            del data["extract"]  # so policies without it keep their digest
        return data


Operator = Literal[
    "eq", "ne", "gt", "ge", "lt", "le", "in", "not_in",
    "contains", "not_contains", "matches", "not_matches", "exists", "origin",
]  # fmt: skip
OPERATORS: tuple[str, ...] = typing.get_args(Operator)

SessionAttr = Literal["flagged", "flag_reasons", "untrusted_seen", "items"]
"""Session facts a clause can test (see ``Clause.session``)."""


class Clause(_Strict):
    """One comparison: ``{arg: amount, gt: 20}``, ``{principal: roles, contains: vip}``,
    ``{arg: to, origin: [untrusted, unknown, tainted]}``."""

    arg: str | None = None
    """Argument (dotted path into nested values: ``items.0.sku``) the clause looks at."""
    principal: str | None = None
    """Principal attribute the clause looks at: ``id``, ``kind``, ``tenant``, ``roles``,
    ``attrs.NAME``. A missing attribute is an error (acts as deny)."""
    session: SessionAttr | None = None
    """What the session has seen so far: ``flagged`` (true once any content was flagged by a
    guard, e.g. as an injection), ``flag_reasons`` (the guards' reasons), ``untrusted_seen``
    (true once any untrusted content was seen), ``items`` (how many content items)."""
    eq: Any = None
    """Equal to."""
    ne: Any = None
    """Not equal to."""
    gt: float | None = None
    """Greater than (numbers and numeric strings; anything else is an error)."""
    ge: float | None = None
    """Greater than or equal to."""
    lt: float | None = None
    """Less than."""
    le: float | None = None
    """Less than or equal to."""
    in_: list[Any] | None = Field(default=None, alias="in")
    """One of these values."""
    not_in: list[Any] | None = None
    """None of these values."""
    contains: Any = None
    """The string or list contains this."""
    not_contains: Any = None
    """The string or list does not contain this."""
    matches: str | None = None
    """``re.search`` finds this regular expression."""
    not_matches: str | None = None
    """``re.search`` does not find this regular expression."""
    exists: bool | None = None
    """``true``: the argument/attribute is present; ``false``: it is absent."""
    origin: (
        list[Literal["trusted", "untrusted", "tainted", "unknown", "empty", "untrackable"]] | None
    ) = None
    """The argument's provenance status is one of these (see the provenance docs)."""

    _check_matches = field_validator("matches", "not_matches")(_check_regex)

    @model_validator(mode="after")
    def _exactly_one(self) -> Clause:
        subjects = [k for k in ("arg", "principal", "session") if getattr(self, k) is not None]
        if len(subjects) != 1:
            raise ValueError(
                "a clause needs exactly one of 'arg: NAME', 'principal: ATTR' or 'session: ATTR'"
            )
        ops = self.operators()
        if len(ops) != 1:
            raise ValueError(f"a clause needs exactly one operator of {', '.join(OPERATORS)}")
        if ops[0] == "origin" and self.arg is None:
            raise ValueError("'origin' applies to arguments only")
        return self

    def operators(self) -> list[str]:
        names = {"in_": "in"}
        return [names.get(k, k) for k in self.model_fields_set if names.get(k, k) in OPERATORS]

    def operand(self) -> Any:
        op = self.operators()[0]
        return getattr(self, "in_" if op == "in" else op)


class AllOf(_Strict):
    """Every condition holds."""

    all: list[Condition] = Field(min_length=1)
    """Conditions that must all hold."""


class AnyOf(_Strict):
    """At least one condition holds."""

    any: list[Condition] = Field(min_length=1)
    """Conditions of which one must hold."""


class NotOf(_Strict):
    """The condition does not hold."""

    not_: Condition = Field(alias="not")
    """The negated condition."""


def _condition_tag(value: Any) -> str:
    if isinstance(value, dict):
        for key in ("all", "any", "not"):
            if key in value:
                return key
    if isinstance(value, AllOf):
        return "all"
    if isinstance(value, AnyOf):
        return "any"
    return "not" if isinstance(value, NotOf) else "clause"


Condition = Annotated[
    Annotated[AllOf, Tag("all")]
    | Annotated[AnyOf, Tag("any")]
    | Annotated[NotOf, Tag("not")]
    | Annotated[Clause, Tag("clause")],
    Discriminator(_condition_tag),
]


class RuleSpec(_Strict):
    """A conditional rule: when ``when`` holds for a call to one of ``tools``, forbid it or
    require approval. Rules never permit: permission comes from the tool's effect."""

    id: Annotated[str, Field(pattern=_ID)]
    """Rule id."""
    effect: Literal["forbid", "approve"]
    """``forbid`` (deny the call) or ``approve`` (require a human's approval)."""
    tools: list[str] = Field(min_length=1)
    """Tool names, or ``*`` for every tool."""
    when: Condition
    """A clause, or ``all: [...]`` / ``any: [...]`` / ``not: ...`` of conditions. A clause on an
    argument the call does not have does not match; use ``exists`` to require one."""
    message: str | None = None
    """What the model is told when this rule refuses a call."""


class OutputSpec(_Strict):
    """How the gateway labels this tool's results when the model sees them."""

    trusted: bool = False
    """Whether the tool's results are trusted content (default: untrusted)."""
    trusted_fields: list[str] = Field(default_factory=list)
    """Field paths (fnmatch, e.g. ``*.recipient``) of structured results that are trusted even
    though the result as a whole is not (fields an outsider cannot write)."""
    untrusted_fields: list[str] = Field(default_factory=list)
    """Field paths that are untrusted even though the result is trusted."""


class ApprovalSpec(_Strict):
    """Who may approve a call that needs approval, and how long they have."""

    timeout: float = 3600.0
    """How long a request stays pending before it expires (expiry means deny): seconds or
    ``'15m'``, ``'24h'``."""
    roles: list[str] = Field(default_factory=list)
    """An approver needs at least one of these roles (empty: any configured approver)."""
    two_person: bool = False
    """Two different approvers must approve; one denial is enough to deny."""
    execute_within: float | None = 86400.0
    """How long an approval stays good: an approved call not executed (resumed or claimed)
    within this long after the decision expires instead (seconds or ``'15m'``, ``'24h'``;
    ``null``: never)."""

    _parse_timeout = field_validator("timeout", mode="before")(parse_duration)
    _parse_within = field_validator("execute_within", mode="before")(
        lambda v: v if v is None else parse_duration(v)
    )


class ApprovalDefaults(ApprovalSpec):
    """The policy-wide approval settings, with overrides for the rules that ask for approval."""

    rules: dict[str, ApprovalSpec] = Field(default_factory=dict)
    """Settings per rule id (a cap, provenance or conditional rule with ``approve``); when
    several apply, the shortest timeout wins, every role list must be met, and two-person
    applies if any asks for it."""


class ApproverSpec(_Strict):
    """A person who may approve or deny requests (ringfence approvals, the web page)."""

    roles: list[str] = Field(default_factory=list)
    """Roles this approver holds (matched against ``approval.roles``)."""
    description: str = ""


class ToolPolicy(_Strict):
    """What one tool may do."""

    effect: Effect
    """``allow``, ``deny`` or ``approve`` (needs a human)."""
    description: str | None = None
    """Free text for people."""
    args: dict[str, ArgSpec] = Field(default_factory=dict)
    """Constraints per argument name."""
    caps: list[CapSpec] = Field(default_factory=list)
    """Limits over windows on this tool's calls."""
    provenance: list[ProvenanceSpec] = Field(default_factory=list)
    """Where sensitive argument values must come from."""
    output: OutputSpec = Field(default_factory=OutputSpec)
    """Provenance label for this tool's results."""
    handler: str | None = Field(default=None, pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")
    """``package.module:function`` that implements the tool (used by ``ringfence replay``)."""
    message: str | None = None
    """What the model is told when a call to this tool is refused (default: a generic message)."""
    approval: ApprovalSpec | None = None
    """Approval settings for this tool's calls (default: the policy's ``approval``)."""
    stage: bool = False
    """Record an allowed call as a staged change (committed or rolled back later by a person)
    instead of executing it."""

    @model_validator(mode="after")
    def _tool_caps_have_no_tools(self) -> ToolPolicy:
        for cap in self.caps:
            if cap.tools is not None:
                raise ValueError(f"cap {cap.id!r}: 'tools' is only for top-level caps")
        return self


DEFAULT_SOURCES: dict[str, Literal["trusted", "untrusted"]] = {
    "system": "trusted",
    "developer": "trusted",
    "user": "trusted",
    "assistant": "untrusted",
    "tool:*": "untrusted",
    "retrieved:*": "untrusted",
}


AnswerAction = Literal["pass", "cite", "withhold"]
"""What the person reading an answer sees of a part that comes only from untrusted (or flagged)
content: ``pass`` (the answer as written), ``cite`` (the answer, then each such part with the
sources it came from) or ``withhold`` (the part replaced by a note naming its sources)."""


class AnswersSpec(_Strict):
    """Answer provenance: the parts of an answer (names, identifiers, quotes) that occur only in
    untrusted content, and what the person reading it sees of them (see ``docs/provenance.md``)."""

    untrusted: AnswerAction = "cite"
    """Parts that occur only in untrusted content (and no trusted, unflagged content)."""
    tainted: AnswerAction = "withhold"
    """Parts that occur in content a guard flagged (an injection detector's span, say)."""


class ProxySpec(_Strict):
    """How ``ringfence serve`` (the OpenAI-compatible proxy) applies this policy on the wire."""

    on_denied_tool_call: Literal["remove", "replace"] = "remove"
    """``remove``: drop refused tool calls, forward the allowed ones and add an explanation to the
    assistant message; ``replace``: if any call is refused, forward none of that turn's calls and
    replace the message with the explanation."""
    on_blocked_input: Literal["refuse", "error"] = "refuse"
    """A request a guard blocks gets a refusal message (``refuse``, HTTP 200) or an OpenAI-style
    error (``error``, HTTP 400, code ``content_blocked``)."""
    on_blocked_output: Literal["refuse", "error"] = "refuse"
    """A response a guard blocks is replaced by a refusal (``refuse``) or becomes an error."""
    refusal_message: str = "This request was blocked by a safety policy."
    """The text the client sees in place of blocked content."""
    stream_hold_back: Annotated[int, Field(ge=16)] | Literal["all"] = 256
    """Streaming: characters held back (and checked) before text is released; ``all`` releases
    nothing until the whole response passed the output checks."""
    filter_tools: bool = True
    """Drop tools the policy denies or does not declare from the request sent upstream."""
    allow_non_text_content: bool = False
    """Accept image/audio/file parts, which guards cannot scan (default: reject the request)."""
    max_request_bytes: int = Field(default=1_048_576, gt=0)
    """Larger request bodies are rejected with HTTP 413."""
    upstream_timeout: float = 120.0
    """Seconds to wait for the upstream (connect, and between bytes of a response)."""
    rate_limit_per_minute: int | None = Field(default=600, gt=0)
    """Requests per principal per minute (a keys-file entry may override it; null: no limit)."""

    _parse_timeout = field_validator("upstream_timeout", mode="before")(parse_duration)


class PolicySpec(_Strict):
    """A whole policy file. Tools not listed are denied."""

    version: Literal[1] = 1
    """Policy format version."""
    name: str
    """Policy name (recorded with every decision in the audit log, with the file's digest)."""
    description: str = ""
    """Free text for people."""
    sources: dict[str, Literal["trusted", "untrusted"]] = Field(default_factory=dict)
    """Trust per content source pattern, layered over ``DEFAULT_SOURCES`` (system, developer
    and user trusted; assistant, tool and retrieved content untrusted). The last matching pattern
    wins; a source nothing matches is untrusted."""
    tools: dict[Annotated[str, Field(pattern=_TOOL)], ToolPolicy] = Field(default_factory=dict)
    """What each tool may do, by tool name. A tool not listed here is always denied."""
    rules: list[RuleSpec] = Field(default_factory=list)
    """Conditional rules that forbid calls or require approval for them."""
    caps: list[CapSpec] = Field(default_factory=list)
    """Caps shared by several tools (each names its ``tools``)."""
    proxy: ProxySpec | None = None
    """Settings for ``ringfence serve`` (the OpenAI-compatible proxy); absent: the defaults."""
    approval: ApprovalDefaults = Field(default_factory=ApprovalDefaults)
    """Default approval settings (timeout, roles, two-person) and per-rule overrides."""
    approvers: dict[Annotated[str, Field(pattern=_ID)], ApproverSpec] = Field(default_factory=dict)
    """The people who may decide approval requests, by name, with their roles."""
    answers: AnswersSpec | None = None
    """Answer provenance (cite or withhold the parts of an answer that come only from untrusted
    content). Absent: answers are not traced."""
    guards: GuardsSpec | None = None
    """Guard pipelines per direction (input, untrusted, output); see ``docs/guards.md``. Absent:
    a gateway runs no guards unless given a pipeline."""

    @model_validator(mode="after")
    def _approval_roles_held(self) -> PolicySpec:
        if not self.approvers:
            return self
        specs = [
            ("approval", self.approval),
            *((f"approval.rules.{r}", s) for r, s in self.approval.rules.items()),
        ]
        specs += [(f"tools.{n}.approval", t.approval) for n, t in self.tools.items() if t.approval]
        for where, spec in specs:
            eligible = [
                a
                for a in self.approvers.values()
                if not spec.roles or set(spec.roles) & set(a.roles)
            ]
            if len(eligible) < (2 if spec.two_person else 1):
                raise ValueError(
                    f"{where}: not enough approvers hold one of the roles "
                    f"{spec.roles} (two_person: {spec.two_person})"
                )
        return self

    @model_serializer(mode="wrap")
    def _omit_absent_guards(self, handler: SerializerFunctionWrapHandler) -> Any:
        data = handler(self)
        if isinstance(data, dict) and data.get("guards", 0) is None:
            del data["guards"]  # so a policy without guards keeps its digest
        if isinstance(data, dict) and data.get("proxy", 0) is None:
            del data["proxy"]  # likewise for a policy without a proxy section
        return data


AllOf.model_rebuild()
AnyOf.model_rebuild()
NotOf.model_rebuild()
RuleSpec.model_rebuild()
