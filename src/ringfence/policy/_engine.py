"""The policy engine: a compiled policy that decides proposed tool calls.

Semantics, in two lines:
  Forbid overrides permit; a tool not declared, or declared ``deny``, is denied (default deny).
  A rule that errors never allows: the call gets ``error`` (acts as deny) unless another rule
  already denies it; otherwise any rule asking for approval gives ``approve``; else ``allow``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from ringfence.policy._checks import cap_reason, provenance_outcome
from ringfence.policy._compile import CompiledTool, compile_tools, tool_rule_id
from ringfence.policy._model import DEFAULT_SOURCES, PolicySpec
from ringfence.policy._types import (
    CallContext,
    CapCharge,
    Decision,
    ReasonCategory,
    RuleOutcome,
    ToolCall,
    Verdict,
)
from ringfence.provenance import LeafProvenance, destinations_in, source_matches

DEFAULT_DENY_RULE = "default-deny"


class _Objection(NamedTuple):
    """An objection raised by one rule (the fields of a :class:`RuleResult`) and the message
    the model is told; a tuple, as a call may raise several."""

    rule_id: str
    outcome: RuleOutcome
    category: ReasonCategory
    reason: str
    message: str | None


@dataclass
class Policy:
    """A validated, compiled policy. Build one with :func:`ringfence.policy.load_policy`."""

    spec: PolicySpec
    source: str = "<memory>"
    digest: str = ""
    tools: dict[str, CompiledTool] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.digest:
            canonical = json.dumps(self.spec.model_dump(mode="json", by_alias=True), sort_keys=True)
            self.digest = hashlib.sha256(canonical.encode()).hexdigest()
        if not self.tools:
            self.tools = compile_tools(self.spec)
        self._sources = [*DEFAULT_SOURCES.items(), *self.spec.sources.items()]

    @property
    def name(self) -> str:
        return self.spec.name

    def trust_of(self, source: str) -> bool:
        """Default trust of content from ``source`` (last matching pattern wins)."""
        trusted = False
        for pattern, trust in self._sources:
            if source_matches(source, pattern):
                trusted = trust == "trusted"
        return trusted

    def evaluate(self, call: ToolCall, ctx: CallContext) -> Verdict:
        """Decide one proposed call. Never raises for a rule failure: that is an ``error``."""
        tool = self.tools.get(call.tool)
        if tool is None:
            return Verdict(
                decision="deny",
                reasons=(f"tool {call.tool!r} is not declared in policy {self.name!r}",),
                rules=(DEFAULT_DENY_RULE,),
                categories=("undeclared",),
            )
        if tool.effect == "deny":
            return Verdict(
                decision="deny",
                reasons=(f"tool {call.tool!r} is denied by policy",),
                rules=(tool.rule_id,),
                categories=("tool",),
                public_message=tool.spec.message,
            )
        objections: list[_Objection] = []
        _run_checks(tool, call, ctx, objections)
        provenance = _provenance(tool, call, ctx, objections) if tool.provenance else {}
        charges = _caps(tool, call, ctx, objections) if tool.charges else ()
        if tool.effect == "approve":
            objections.append(
                _Objection(tool.rule_id, "approve", "tool", tool.approve_reason, None)
            )
        if not objections:
            return Verdict(
                "allow", tool.allow_reasons, (tool.rule_id,), (), (), charges, provenance
            )
        return _combine(tool, objections, charges, provenance)


def _run_checks(
    tool: CompiledTool, call: ToolCall, ctx: CallContext, out: list[_Objection]
) -> None:
    for check in tool.checks:
        try:
            reason = check.fn(call, ctx)
        except Exception as exc:  # a rule that errors never allows
            out.append(_Objection(check.rule_id, "error", check.category, _err(exc), check.message))
            continue
        if reason is not None:
            out.append(
                _Objection(check.rule_id, check.outcome, check.category, reason, check.message)
            )


def _err(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _provenance(
    tool: CompiledTool, call: ToolCall, ctx: CallContext, out: list[_Objection]
) -> dict[str, tuple[LeafProvenance, ...]]:
    """Evaluate the provenance rules; returns the leaves traced per argument (whole values,
    then the destinations extracted from free text), which approvers are shown."""
    whole: dict[str, tuple[LeafProvenance, ...]] = {}
    extracted: dict[str, dict[str, LeafProvenance]] = {}
    for spec in tool.provenance:
        for arg in spec.args:
            if arg not in call.args:
                continue
            try:
                if spec.extract:
                    leaves = _extracted(call.args[arg], arg, spec.extract, ctx)
                    extracted.setdefault(arg, {}).update((leaf.path, leaf) for leaf in leaves)
                else:
                    if arg not in whole:
                        whole[arg] = _whole(call.args[arg], arg, ctx)
                    leaves = whole[arg]
                result = provenance_outcome(spec, list(leaves))
            except Exception as exc:
                out.append(_Objection(spec.id, "error", "provenance", _err(exc), spec.message))
                continue
            if result is not None:
                out.append(_Objection(spec.id, result[0], "provenance", result[1], spec.message))
    found = dict(whole)
    for arg, leaves_by_path in extracted.items():
        found[arg] = (*found.get(arg, ()), *leaves_by_path.values())
    return found


def _whole(value: object, arg: str, ctx: CallContext) -> tuple[LeafProvenance, ...]:
    leaves = ctx.origins.lookup(value, arg) if ctx.origins else []
    return tuple(leaves) or (LeafProvenance(arg, value, ()),)


def _extracted(
    value: object, arg: str, kinds: Sequence[str], ctx: CallContext
) -> tuple[LeafProvenance, ...]:
    """One leaf per URL / e-mail address / IBAN written inside the (free-text) value, with
    path ``ARG[KIND N]``; no leaves when it has none."""
    leaves: list[LeafProvenance] = []
    counts: dict[str, int] = {}
    for kind, token in (t for text in _strings(value) for t in destinations_in(text, kinds)):
        counts[kind] = counts.get(kind, 0) + 1
        path = f"{arg}[{kind} {counts[kind]}]"
        found = ctx.origins.lookup(token, path) if ctx.origins else []
        leaves.extend(found or [LeafProvenance(path, token, ())])
    return tuple(leaves)


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for sub in value.values():
            yield from _strings(sub)
    elif isinstance(value, list | tuple):
        for sub in value:
            yield from _strings(sub)


def _caps(
    tool: CompiledTool, call: ToolCall, ctx: CallContext, out: list[_Objection]
) -> tuple[CapCharge, ...]:
    charges: list[CapCharge] = []
    ledger, now = ctx.ledger, ctx.now
    for cap, charge_of in tool.charges:
        try:
            charge = charge_of(call, ctx)
            if ledger is None:
                raise RuntimeError("no cap ledger (store) is configured")
            reason = cap_reason(charge, ledger.usage_after(charge, now))
        except Exception as exc:
            out.append(_Objection(cap.id, "error", "cap", _err(exc), cap.message))
            continue
        charges.append(charge)
        if reason is not None:
            outcome: RuleOutcome = "forbid" if cap.on_exceed == "deny" else "approve"
            out.append(_Objection(cap.id, outcome, "cap", reason, cap.message))
    return tuple(charges)


def _combine(
    tool: CompiledTool,
    objections: list[_Objection],
    charges: tuple[CapCharge, ...],
    provenance: dict[str, tuple[LeafProvenance, ...]],
) -> Verdict:
    if len(objections) == 1:  # the usual case: one rule objects, and it decides
        return _single(tool, objections[0], charges, provenance)
    forbid, error, approve = _by_outcome(objections)
    decision: Decision
    if forbid:
        decision, deciding = "deny", forbid + error
    elif error:
        decision, deciding = "error", error
    else:  # objections exist, none forbid or errored: they ask for approval
        decision, deciding = "approve", approve
    messages = [o.message for o in deciding if o.message]
    return Verdict(
        decision,
        tuple([o.reason for o in deciding]),
        tuple(dict.fromkeys([o.rule_id for o in deciding])),
        tuple([f"{o.rule_id}: {o.reason}" for o in error]) if error else (),
        tuple(dict.fromkeys([o.category for o in deciding])),
        charges,
        provenance,
        messages[0] if messages else tool.message,
    )


_DECISIONS: dict[RuleOutcome, Decision] = {"forbid": "deny", "error": "error", "approve": "approve"}


def _single(
    tool: CompiledTool,
    obj: _Objection,
    charges: tuple[CapCharge, ...],
    provenance: dict[str, tuple[LeafProvenance, ...]],
) -> Verdict:
    """:func:`_combine` for one objection."""
    errors = (f"{obj.rule_id}: {obj.reason}",) if obj.outcome == "error" else ()
    return Verdict(
        _DECISIONS[obj.outcome],
        (obj.reason,),
        (obj.rule_id,),
        errors,
        (obj.category,),
        charges,
        provenance,
        obj.message or tool.message,
    )


def _by_outcome(
    objections: list[_Objection],
) -> tuple[list[_Objection], list[_Objection], list[_Objection]]:
    """The objections that forbid, that errored and that ask for approval, in order."""
    forbid: list[_Objection] = []
    error: list[_Objection] = []
    approve: list[_Objection] = []
    for obj in objections:
        outcome = obj.outcome
        (forbid if outcome == "forbid" else error if outcome == "error" else approve).append(obj)
    return forbid, error, approve


__all__ = ["DEFAULT_DENY_RULE", "CompiledTool", "Policy", "tool_rule_id"]
