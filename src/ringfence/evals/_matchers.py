"""Evaluating matchers against values, tool calls and environment state.

Literal equality compares numbers numerically (also a number with a numeric string) and text
case-insensitively after trimming. ``contains`` is a case-insensitive substring test for text;
for a list, some item equals the operand (or, for text items, contains it). A value that is
absent matches only ``{exists: false}``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from ringfence.agents import ToolCallRecord
from ringfence.evals._schema import CallMatcher, Matcher, Ops, StateCheck

MISSING: Any = object()


class Unresolvable(LookupError):
    """A state path does not exist: the check cannot be evaluated (the case is unscorable)."""


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            number = float(value.strip().replace(",", "."))
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def equal(a: Any, b: Any) -> bool:
    """Literal equality as documented in the module docstring."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    na, nb = _number(a), _number(b)
    if na is not None and nb is not None and (not isinstance(a, str) or not isinstance(b, str)):
        return abs(na - nb) < 1e-9
    if isinstance(a, str) and isinstance(b, str):
        return a.strip().casefold() == b.strip().casefold()
    return bool(a == b)


def matches(value: Any, matcher: Matcher) -> bool:
    """Whether ``value`` (or :data:`MISSING`) satisfies ``matcher``."""
    if not isinstance(matcher, Ops):
        return value is not MISSING and equal(value, matcher)
    op, operand = matcher.op()
    if op == "exists":
        return (value is not MISSING) == bool(operand)
    if value is MISSING:
        return False
    return _compare(op, value, operand)


def _compare(op: str, value: Any, operand: Any) -> bool:
    if op == "eq":
        return equal(value, operand)
    if op == "ne":
        return not equal(value, operand)
    if op in ("lt", "le", "gt", "ge"):
        number = _number(value)
        if number is None:
            return False
        limit = float(operand)
        return {"lt": number < limit, "le": number <= limit,
                "gt": number > limit, "ge": number >= limit}[op]  # fmt: skip
    if op in ("contains", "not_contains"):
        found = _contains(value, operand)
        return found if op == "contains" else not found
    if op == "in":
        return any(equal(value, item) for item in operand)
    return bool(re.search(str(operand), str(value)))


def _contains(value: Any, operand: Any) -> bool:
    if isinstance(value, str):
        return str(operand).casefold() in value.casefold()
    if isinstance(value, list | tuple | set | frozenset):
        return any(_contains(item, operand) if isinstance(item, str) else equal(item, operand)
                   for item in value)  # fmt: skip
    if isinstance(value, Mapping):
        return any(equal(key, operand) for key in value)
    return False


def _status_ok(call: ToolCallRecord, status: str) -> bool:
    if status == "executed":
        return call.executed and call.ok
    if status == "blocked":
        return call.blocked
    if status == "approval":
        return call.decision == "approve"
    return True


def matching_calls(calls: Sequence[ToolCallRecord], matcher: CallMatcher) -> list[ToolCallRecord]:
    """The calls one call matcher selects."""
    return [
        c for c in calls
        if c.tool == matcher.tool and _status_ok(c, matcher.status)
        and all(matches(c.args.get(k, MISSING), m) for k, m in matcher.args.items())
    ]  # fmt: skip


def resolve(state: Any, path: str) -> Any:
    """The value at a dotted path; raises :class:`Unresolvable` when it does not exist."""
    node = state
    for part in path.split("."):
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise Unresolvable(f"state has no {path!r} (stopped at {part!r})")
    return node


def state_value(state: Any, check: StateCheck) -> Any:
    """What a state check compares: a count, a total, or the value at the path."""
    node = resolve(state, check.path)
    if "value" in check.model_fields_set:
        return node
    items = list(node.values()) if isinstance(node, Mapping) else node
    if not isinstance(items, list):
        raise Unresolvable(f"state {check.path!r} is not a list (cannot count or sum it)")
    kept = [i for i in items if _where(i, check.where)]
    if check.sum is None:
        return len(kept)
    total = 0.0
    for item in kept:
        number = _number(item.get(check.sum) if isinstance(item, Mapping) else None)
        if number is None:
            raise Unresolvable(f"state {check.path!r}: an item has no number {check.sum!r}")
        total += number
    return round(total, 6)


def _where(item: Any, where: Mapping[str, Matcher]) -> bool:
    if not where:
        return True
    if not isinstance(item, Mapping):
        return False
    return all(matches(item.get(k, MISSING), m) for k, m in where.items())


def state_matcher(check: StateCheck) -> Matcher:
    if "value" in check.model_fields_set:
        return check.value
    return check.total if check.sum is not None else check.count
