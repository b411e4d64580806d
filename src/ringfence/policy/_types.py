"""Run-time values of a policy decision: calls, principals, rule results, verdicts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from ringfence.provenance import LeafProvenance, ValueOriginIndex

Decision = Literal["allow", "deny", "approve", "error"]
"""The answer for one proposed tool call.

- ``allow``: every applicable rule permits it; it may execute.
- ``deny``: a rule forbids it, or no rule permits it (default deny).
- ``approve``: permitted only if a human approves it; it must not execute before that.
- ``error``: a rule errored or timed out; acts exactly like ``deny`` and is logged.
"""

RuleOutcome = Literal["forbid", "approve", "error"]
"""What one rule says about a call when it objects (rules that have no objection say nothing)."""

ReasonCategory = Literal["undeclared", "tool", "argument", "ownership", "cap", "provenance", "rule"]

PrincipalKind = Literal["user", "agent", "service", "operator"]


@dataclass(frozen=True)
class Principal:
    """Who a call acts for. ``attrs`` hold application data a policy may refer to."""

    id: str
    kind: PrincipalKind = "user"
    tenant: str | None = None
    roles: frozenset[str] = frozenset()
    attrs: Mapping[str, Any] = field(default_factory=dict)

    def attr(self, path: str) -> Any:
        """``id``, ``kind``, ``tenant``, ``roles`` or ``attrs.NAME[.SUB]``; KeyError if absent."""
        head, _, rest = path.partition(".")
        if head in ("id", "kind", "tenant", "roles") and not rest:
            return getattr(self, head)
        if head != "attrs" or not rest:
            raise KeyError(path)
        value: Any = self.attrs
        for part in rest.split("."):
            value = value[part]
        return value


@dataclass(frozen=True)
class ToolCall:
    """A tool call the model proposed."""

    tool: str
    args: Mapping[str, Any]
    call_id: str | None = None


@runtime_checkable
class ResourceResolver(Protocol):
    """Application-provided ownership lookup: who owns resource ``kind``/``resource_id``.

    Return the owner's principal id, or ``None`` when the resource does not exist.
    """

    def owner(self, kind: str, resource_id: str) -> str | None: ...


@dataclass
class StaticResolver:
    """A :class:`ResourceResolver` over a dict ``{(kind, id): owner}`` (replays, tests, demos)."""

    owners: dict[tuple[str, str], str] = field(default_factory=dict)

    def owner(self, kind: str, resource_id: str) -> str | None:
        return self.owners.get((kind, str(resource_id)))

    def add(self, kind: str, resource_id: str, owner: str) -> None:
        self.owners[(kind, str(resource_id))] = owner


CapKind = Literal["sum", "count", "distinct"]
CapScope = Literal["principal", "session", "tenant", "global"]


@dataclass(frozen=True, init=False)
class CapCharge:
    """What one call would add to one cap: a sum amount, one count, or distinct values."""

    cap_id: str
    key: str
    kind: CapKind
    amount: float
    values: tuple[str, ...]
    max: float
    window_s: float
    on_exceed: Literal["deny", "approve"]

    def __init__(
        self,
        cap_id: str,
        key: str,
        kind: CapKind,
        amount: float,
        values: tuple[str, ...],
        max: float,
        window_s: float,
        on_exceed: Literal["deny", "approve"],
    ) -> None:
        # made on every decision: one update instead of a frozen __setattr__ per field
        self.__dict__.update(
            cap_id=cap_id,
            key=key,
            kind=kind,
            amount=amount,
            values=values,
            max=max,
            window_s=window_s,
            on_exceed=on_exceed,
        )


@runtime_checkable
class CapLedger(Protocol):
    """Cap usage kept in the store, so caps hold across processes and restarts."""

    def usage_after(self, charge: CapCharge, now: float) -> float:
        """The cap's usage over its window if ``charge`` were added now."""
        ...

    def try_charge(self, charges: tuple[CapCharge, ...], now: float) -> str | CapCharge:
        """Atomically add all charges, or none: a reservation id, or the first charge that
        would exceed its cap."""
        ...

    def release(self, reservation: str) -> None:
        """Undo a reservation (the call did not execute)."""
        ...


@dataclass(frozen=True)
class CallContext:
    """Everything a decision may depend on besides the call itself."""

    principal: Principal
    session_id: str
    origins: ValueOriginIndex | None = None
    resolver: ResourceResolver | None = None
    ledger: CapLedger | None = None
    now: float = 0.0


@dataclass(frozen=True)
class RuleResult:
    """An objection raised by one rule: its id, its outcome and why."""

    rule_id: str
    outcome: RuleOutcome
    category: ReasonCategory
    reason: str


@dataclass(frozen=True, init=False)
class Verdict:
    """The engine's answer: a decision, the rules that decided it, why, and any errors."""

    decision: Decision
    reasons: tuple[str, ...]
    rules: tuple[str, ...]
    errors: tuple[str, ...] = ()
    categories: tuple[ReasonCategory, ...] = ()
    charges: tuple[CapCharge, ...] = ()
    provenance: Mapping[str, tuple[LeafProvenance, ...]] = field(default_factory=dict)
    public_message: str | None = None

    def __init__(
        self,
        decision: Decision,
        reasons: tuple[str, ...],
        rules: tuple[str, ...],
        errors: tuple[str, ...] = (),
        categories: tuple[ReasonCategory, ...] = (),
        charges: tuple[CapCharge, ...] = (),
        provenance: Mapping[str, tuple[LeafProvenance, ...]] | None = None,
        public_message: str | None = None,
    ) -> None:
        """As the dataclass's own ``__init__`` (``provenance`` defaults to a new empty dict),
        but one dict update instead of a frozen ``__setattr__`` per field: one is made per call."""
        self.__dict__.update(
            decision=decision,
            reasons=reasons,
            rules=rules,
            errors=errors,
            categories=categories,
            charges=charges,
            provenance={} if provenance is None else provenance,
            public_message=public_message,
        )

    @property
    def allowed(self) -> bool:
        return self.decision == "allow"

    def to_dict(self) -> dict[str, Any]:
        return {
            "decision": self.decision,
            "reasons": list(self.reasons),
            "rules": list(self.rules),
            "errors": list(self.errors),
        }
