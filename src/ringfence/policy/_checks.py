"""Compiling policy rules into checks: small functions that object to a call or say nothing.

A check returns ``None`` (no objection) or a reason string; its outcome (forbid / approve) is
fixed when it is compiled. A check that raises is turned into an ``error`` by the engine.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from ringfence.policy._model import (
    AllOf,
    AnyOf,
    ArgSpec,
    CapSpec,
    Clause,
    NotOf,
    ProvenanceSpec,
    RuleSpec,
)
from ringfence.policy._types import (
    CallContext,
    CapCharge,
    ReasonCategory,
    RuleOutcome,
    ToolCall,
)
from ringfence.provenance import LeafProvenance, normalize_text, summarize

CheckFn = Callable[[ToolCall, CallContext], str | None]


@dataclass(frozen=True)
class Check:
    """A compiled rule: ``fn`` returns a reason when the rule objects to the call."""

    rule_id: str
    outcome: RuleOutcome
    category: ReasonCategory
    fn: CheckFn
    message: str | None = None


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


MISSING: Any = _Missing()


def as_number(value: object) -> float:
    """A finite number from an int/float/Decimal or a numeric string; ValueError otherwise."""
    if type(value) is int or type(value) is float:  # the common case, without Decimal
        number = float(value)
        if not math.isfinite(number):
            raise ValueError(f"{value!r} is not a finite number")
        return number
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise ValueError(f"{value!r} is not a number")
    try:
        number = float(Decimal(str(value).strip()))
    except InvalidOperation as exc:
        raise ValueError(f"{value!r} is not a number") from exc
    if not math.isfinite(number):
        raise ValueError(f"{value!r} is not a finite number")
    return number


def _type_ok(kind: str, value: object) -> bool:
    if kind == "any":
        return True
    if kind == "string":
        return isinstance(value, str)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "array":
        return isinstance(value, list | tuple)
    if kind == "object":
        return isinstance(value, dict)
    if isinstance(value, bool):
        return False
    if kind == "integer":
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    return isinstance(value, int | float | Decimal)


def _items(value: object) -> list[object]:
    return list(value) if isinstance(value, list | tuple) else [value]


# --- argument constraints -------------------------------------------------------------------


_BOUNDS: dict[str, Callable[[float, float], bool]] = {
    "minimum": operator.ge,
    "maximum": operator.le,
    "exclusive_minimum": operator.gt,
    "exclusive_maximum": operator.lt,
}


def _numeric_check(bound: str, limit: float) -> Callable[[object], str | None]:
    within = _BOUNDS[bound]

    def check(value: object) -> str | None:
        try:
            number = as_number(value)
        except ValueError as exc:
            return str(exc)
        return None if within(number, limit) else f"{number:g} violates {bound} {limit:g}"

    return check


def _value_checks(spec: ArgSpec) -> Iterator[tuple[str, Callable[[object], str | None]]]:
    """Constraints that look at the value alone, by constraint name."""
    if spec.type is not None:
        kind = spec.type
        if kind == "string":  # the common case, without the dispatch of _type_ok
            yield "type", lambda v: None if isinstance(v, str) else f"expected {kind}, got {v!r}"
        else:
            yield "type", lambda v: None if _type_ok(kind, v) else f"expected {kind}, got {v!r}"
    if spec.enum is not None:
        allowed = list(spec.enum)
        yield "enum", lambda v: None if v in allowed else f"{v!r} is not one of {allowed}"
    for bound in ("minimum", "maximum", "exclusive_minimum", "exclusive_maximum"):
        limit = getattr(spec, bound)
        if limit is not None:
            yield bound, _numeric_check(bound, limit)
    yield from _string_checks(spec)
    if spec.max_items is not None:
        n = spec.max_items
        yield "max_items", lambda v: None if len(_items(v)) <= n else f"more than {n} items"


def _string_checks(spec: ArgSpec) -> Iterator[tuple[str, Callable[[object], str | None]]]:
    if spec.min_length is not None:
        lo = spec.min_length
        yield "min_length", lambda v: None if len(str(v)) >= lo else f"shorter than {lo}"
    if spec.max_length is not None:
        hi = spec.max_length
        yield "max_length", lambda v: None if len(str(v)) <= hi else f"longer than {hi}"
    if spec.pattern is not None:
        yield "pattern", _pattern_check(re.compile(spec.pattern))


def _pattern_check(rx: re.Pattern[str]) -> Callable[[object], str | None]:
    search = rx.search

    def check(value: object) -> str | None:
        if type(value) is str:  # one value: no list of items to walk
            ok = search(value) is not None
        else:
            ok = all(search(str(i)) for i in _items(value))
        return None if ok else f"does not match {rx.pattern}"

    return check


ValueCtxFn = Callable[[object, CallContext], str | None]


def _principal_checks(spec: ArgSpec) -> Iterator[tuple[str, ReasonCategory, ValueCtxFn]]:
    """Constraints that relate the value to the calling principal: (name, category, fn)."""
    if spec.equals_principal is not None:
        attr = spec.equals_principal

        def equals(value: object, ctx: CallContext) -> str | None:
            expected = ctx.principal.attr(attr)
            return None if str(value) == str(expected) else f"{value!r} is not principal.{attr}"

        yield "equals_principal", "argument", equals
    if spec.in_principal is not None:
        attr_list = spec.in_principal

        def within(value: object, ctx: CallContext) -> str | None:
            allowed = {str(x) for x in ctx.principal.attr(attr_list)}
            bad = [i for i in _items(value) if str(i) not in allowed]
            return f"{bad!r} not in principal.{attr_list}" if bad else None

        yield "in_principal", "argument", within
    if spec.owned_by_principal is not None:
        yield "owned_by_principal", "ownership", _owner_check(spec.owned_by_principal)


def _owner_check(kind: str) -> ValueCtxFn:
    def owned(value: object, ctx: CallContext) -> str | None:
        resolver = ctx.resolver
        if resolver is None:
            raise RuntimeError("no resource-ownership lookup is configured")
        for item in (value,) if type(value) is str else _items(value):
            owner = resolver.owner(kind, str(item))
            if owner is None:
                return f"{kind} {item!r} does not exist"
            if owner != ctx.principal.id:
                return f"{kind} {item!r} is not owned by the principal"
        return None

    return owned


def arg_checks(tool: str, arg: str, spec: ArgSpec) -> list[Check]:
    """Every constraint on one argument as a forbid check with id ``TOOL.args.ARG.NAME``."""
    prefix = f"{tool}.args.{arg}"
    checks: list[Check] = []
    if spec.required:

        def required(call: ToolCall, ctx: CallContext) -> str | None:
            return None if arg in call.args else f"argument {arg!r} is required"

        checks.append(Check(f"{prefix}.required", "forbid", "argument", required, spec.message))
    for name, value_fn in _value_checks(spec):
        checks.append(
            Check(f"{prefix}.{name}", "forbid", "argument", _on_arg(arg, value_fn), spec.message)
        )
    for name, category, fn in _principal_checks(spec):
        checks.append(
            Check(f"{prefix}.{name}", "forbid", category, _on_arg_ctx(arg, fn), spec.message)
        )
    return checks


def _on_arg(arg: str, fn: Callable[[object], str | None]) -> CheckFn:
    def check(call: ToolCall, ctx: CallContext) -> str | None:
        value = call.args.get(arg, MISSING)
        if value is MISSING:
            return None
        reason = fn(value)
        return None if reason is None else f"argument {arg!r}: {reason}"

    return check


def _on_arg_ctx(arg: str, fn: ValueCtxFn) -> CheckFn:
    def check(call: ToolCall, ctx: CallContext) -> str | None:
        value = call.args.get(arg, MISSING)
        if value is MISSING:
            return None
        reason = fn(value, ctx)
        return None if reason is None else f"argument {arg!r}: {reason}"

    return check


# --- caps ---------------------------------------------------------------------------------


ChargeFn = Callable[[ToolCall, CallContext], CapCharge]


def cap_charge(cap: CapSpec, call: ToolCall, ctx: CallContext) -> CapCharge:
    """What ``call`` adds to ``cap``; raises when the call cannot be measured against it."""
    return compile_cap(cap)(call, ctx)


def compile_cap(cap: CapSpec) -> ChargeFn:
    """:func:`cap_charge` for one cap, with all that does not depend on the call fixed."""
    scope, measure = _cap_scope(cap), _cap_measure(cap)
    cap_id, prefix, kind = cap.id, f"{cap.id}|{cap.per}:", cap.kind
    limit, window, on_exceed = cap.max, cap.window, cap.on_exceed

    def charge(call: ToolCall, ctx: CallContext) -> CapCharge:
        key = prefix + scope(ctx)
        amount, values = measure(call)
        return CapCharge(cap_id, key, kind, amount, values, limit, window, on_exceed)

    return charge


_ONE_CALL: tuple[float, tuple[str, ...]] = (1.0, ())


def _cap_measure(cap: CapSpec) -> Callable[[ToolCall], tuple[float, tuple[str, ...]]]:
    """The amount (and distinct values) one call adds to the cap."""
    if cap.sum is not None:
        arg = cap.sum

        def summed(call: ToolCall) -> tuple[float, tuple[str, ...]]:
            if arg not in call.args:
                raise ValueError(f"cap {cap.id!r}: argument {arg!r} is missing")
            amount = as_number(call.args[arg])
            if amount < 0:
                raise ValueError(f"cap {cap.id!r}: negative amount {amount:g}")
            return amount, ()

        return summed
    if cap.distinct is not None:
        name = cap.distinct

        def distinct(call: ToolCall) -> tuple[float, tuple[str, ...]]:
            raw = call.args.get(name, MISSING)
            if raw is MISSING:
                raise ValueError(f"cap {cap.id!r}: argument {name!r} is missing")
            values = tuple(sorted({normalize_text(str(v)) for v in _items(raw)}))
            return float(len(values)), values

        return distinct
    return lambda call: _ONE_CALL


def _cap_scope(cap: CapSpec) -> Callable[[CallContext], str]:
    if cap.per == "principal":
        return lambda ctx: ctx.principal.id
    if cap.per == "session":
        return lambda ctx: ctx.session_id
    if cap.per == "global":
        return lambda ctx: "*"

    def tenant(ctx: CallContext) -> str:
        if ctx.principal.tenant is None:
            raise ValueError(f"cap {cap.id!r} is per tenant but the principal has no tenant")
        return ctx.principal.tenant

    return tenant


def cap_reason(charge: CapCharge, usage: float) -> str | None:
    if usage <= charge.max:
        return None
    what = {"sum": "total", "count": "calls", "distinct": "distinct values"}[charge.kind]
    return f"cap {charge.cap_id!r}: {what} would reach {usage:g} > {charge.max:g} within window"


# --- provenance ---------------------------------------------------------------------------


def provenance_outcome(
    spec: ProvenanceSpec, leaves: list[LeafProvenance]
) -> tuple[RuleOutcome, str] | None:
    """Whether a provenance rule objects to the leaves of one argument, and why."""
    bad = [leaf for leaf in leaves if leaf.status != "empty" and not leaf.from_sources(spec.from_)]
    if not bad:
        return None
    tainted = [leaf for leaf in bad if any(o.tainted for o in leaf.origins)]
    leaf = (tainted or bad)[0]
    outcome: RuleOutcome = (
        "forbid" if (spec.tainted if tainted else spec.otherwise) == "deny" else "approve"
    )
    return outcome, f"argument {leaf.path!r} = {_short(leaf.value)} {_origin_phrase(leaf)}"


def _origin_phrase(leaf: LeafProvenance) -> str:
    status = leaf.status
    sources = sorted({o.source + (f"#{o.field}" if o.field else "") for o in leaf.origins})
    where = ", ".join(sources[:4]) + (" ..." if len(sources) > 4 else "")
    if status == "unknown":
        return "occurs in no content the model saw"
    if status == "untrackable":
        return "cannot be traced to content (boolean or null)"
    if any(o.tainted for o in leaf.origins):
        return f"comes from content flagged as an injection ({where})"
    return f"comes only from content not allowed for it ({where})"


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


# --- conditional rules --------------------------------------------------------------------

Condition = AllOf | AnyOf | NotOf | Clause


Predicate = Callable[[ToolCall, CallContext], bool]


def rule_check(rule: RuleSpec) -> Check:
    pred = compile_condition(rule.when)
    outcome: RuleOutcome = "forbid" if rule.effect == "forbid" else "approve"
    matched = f"rule {rule.id!r} matched"

    def check(call: ToolCall, ctx: CallContext) -> str | None:
        return matched if pred(call, ctx) else None

    return Check(rule.id, outcome, "rule", check, rule.message)


def compile_condition(cond: Condition) -> Predicate:
    """A condition as a closure. A clause on an absent argument does not match (use ``exists``
    to require one); a missing principal attribute or a bad comparison raises (-> ``error``)."""
    if isinstance(cond, AllOf):
        parts = [compile_condition(c) for c in cond.all]
        return lambda call, ctx: all(p(call, ctx) for p in parts)
    if isinstance(cond, AnyOf):
        parts = [compile_condition(c) for c in cond.any]
        return lambda call, ctx: any(p(call, ctx) for p in parts)
    if isinstance(cond, NotOf):
        inner = compile_condition(cond.not_)
        return lambda call, ctx: not inner(call, ctx)
    return _compile_clause(cond)


def holds(cond: Condition, call: ToolCall, ctx: CallContext) -> bool:
    """Evaluate a condition once (compiles it; rules compile theirs ahead of time)."""
    return compile_condition(cond)(call, ctx)


def _session_fact(attr: str, ctx: CallContext) -> Any:
    items = ctx.origins.items() if ctx.origins is not None else []
    if attr == "items":
        return len(items)
    if attr == "untrusted_seen":
        return any(not i.label.trusted or False in i.field_trust.values() for i in items)
    flagged = [i for i in items if i.tainted or i.taint_spans]
    if attr == "flagged":
        return bool(flagged)
    return sorted({r for i in flagged for r in i.taint_reasons})


_PRINCIPAL_FIELDS = ("id", "kind", "tenant", "roles")
"""The attributes :meth:`Principal.attr` reads straight off the principal."""


def _subject_getter(clause: Clause) -> Callable[[ToolCall, CallContext], Any]:
    if clause.session is not None:
        fact = clause.session
        return lambda call, ctx: _session_fact(fact, ctx)
    if clause.principal in _PRINCIPAL_FIELDS:  # a plain field: no path to walk
        field = operator.attrgetter(clause.principal)
        return lambda call, ctx: field(ctx.principal)
    if clause.principal is not None:
        attr = clause.principal

        def principal_value(call: ToolCall, ctx: CallContext) -> Any:
            try:
                return ctx.principal.attr(attr)
            except (KeyError, TypeError):
                return MISSING

        return principal_value
    parts = (clause.arg or "").split(".")

    def arg_value(call: ToolCall, ctx: CallContext) -> Any:
        value: Any = call.args
        for part in parts:
            if isinstance(value, dict) and part in value:
                value = value[part]
            elif isinstance(value, list | tuple) and part.isdigit() and int(part) < len(value):
                value = value[int(part)]
            else:
                return MISSING
        return value

    return arg_value


def _compile_clause(clause: Clause) -> Predicate:
    op, operand = clause.operators()[0], clause.operand()
    get = _subject_getter(clause)
    where = clause.arg or f"principal.{clause.principal}" if clause.session is None else "session"
    is_principal = clause.principal is not None
    if op == "exists":
        present = bool(operand)
        return lambda call, ctx: (get(call, ctx) is not MISSING) == present
    compare = _comparator(op, operand, clause.arg or "")

    def predicate(call: ToolCall, ctx: CallContext) -> bool:
        subject = get(call, ctx)
        if subject is MISSING:
            if is_principal:
                raise KeyError(f"principal attribute {where!r} is missing")
            return False
        return compare(subject, ctx)

    return predicate


def _comparator(op: str, operand: Any, arg: str) -> Callable[[Any, CallContext], bool]:
    if op == "origin":
        allowed = set(operand)

        def origin(subject: Any, ctx: CallContext) -> bool:
            leaves = ctx.origins.lookup(subject, arg) if ctx.origins else []
            return (summarize(leaves) if leaves else "unknown") in allowed

        return origin
    if op in ("matches", "not_matches"):
        rx, want = re.compile(str(operand)), op == "matches"
        return lambda subject, ctx: (rx.search(str(subject)) is not None) == want
    return _OPERATORS.get(op, _generic)(op, operand)


def _ordering(op: str, operand: Any) -> Callable[[Any, CallContext], bool]:
    compare, right = _ORDER[op], float(operand)
    return lambda subject, ctx: compare(as_number(subject), right)


def _containment(op: str, operand: Any) -> Callable[[Any, CallContext], bool]:
    want = op == "contains"

    def contains(subject: Any, ctx: CallContext) -> bool:
        if not isinstance(subject, str | list | tuple | frozenset | set):
            raise TypeError(f"'{op}' needs a string or list, got {subject!r}")
        return (operand in subject) == want

    return contains


def _generic(op: str, operand: Any) -> Callable[[Any, CallContext], bool]:
    return lambda subject, ctx: _compare(op, subject, operand)


_ORDER: dict[str, Callable[[float, float], bool]] = {
    "gt": operator.gt,
    "ge": operator.ge,
    "lt": operator.lt,
    "le": operator.le,
}
_OPERATORS: dict[str, Callable[[str, Any], Callable[[Any, CallContext], bool]]] = {
    **dict.fromkeys(_ORDER, _ordering),
    "contains": _containment,
    "not_contains": _containment,
}


def _compare(op: str, subject: Any, operand: Any) -> bool:
    """``eq``, ``ne``, ``in`` and ``not_in`` (orderings and containment have their own
    comparators, above)."""
    if op == "eq":
        return bool(subject == operand)
    if op == "ne":
        return bool(subject != operand)
    if op in ("in", "not_in"):
        return (subject in operand) == (op == "in")
    raise ValueError(f"unknown operator {op!r}")
