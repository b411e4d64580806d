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

from ringfence.policy._checks import cap_charge, cap_reason, provenance_outcome
from ringfence.policy._compile import CompiledTool, compile_tools, tool_rule_id
from ringfence.policy._model import DEFAULT_SOURCES, PolicySpec
from ringfence.policy._types import (
    CallContext,
    CapCharge,
    Decision,
    ReasonCategory,
    RuleOutcome,
    RuleResult,
    ToolCall,
    Verdict,
)
from ringfence.provenance import LeafProvenance, destinations_in, source_matches

DEFAULT_DENY_RULE = "default-deny"


@dataclass(frozen=True)
class _Objection:
    result: RuleResult
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
        if tool.spec.effect == "deny":
            return Verdict(
                decision="deny",
                reasons=(f"tool {call.tool!r} is denied by policy",),
                rules=(tool_rule_id(call.tool),),
                categories=("tool",),
                public_message=tool.spec.message,
            )
        objections = list(_run_checks(tool, call, ctx))
        provenance = _provenance(tool, call, ctx, objections)
        charges = _caps(tool, call, ctx, objections)
        if tool.spec.effect == "approve":
            reason = f"tool {call.tool!r} requires human approval"
            objections.append(_objection(tool_rule_id(call.tool), "approve", "tool", reason, None))
        return _combine(tool, objections, charges, provenance)


def _objection(
    rule_id: str, outcome: RuleOutcome, category: ReasonCategory, reason: str, message: str | None
) -> _Objection:
    return _Objection(RuleResult(rule_id, outcome, category, reason), message)


def _run_checks(tool: CompiledTool, call: ToolCall, ctx: CallContext) -> Iterator[_Objection]:
    for check in tool.checks:
        try:
            reason = check.fn(call, ctx)
        except Exception as exc:  # a rule that errors never allows
            yield _objection(check.rule_id, "error", check.category, _err(exc), check.message)
            continue
        if reason is not None:
            yield _objection(check.rule_id, check.outcome, check.category, reason, check.message)


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
                out.append(_objection(spec.id, "error", "provenance", _err(exc), spec.message))
                continue
            if result is not None:
                out.append(_objection(spec.id, result[0], "provenance", result[1], spec.message))
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
    for cap in tool.caps:
        try:
            charge = cap_charge(cap, call, ctx)
            if ctx.ledger is None:
                raise RuntimeError("no cap ledger (store) is configured")
            reason = cap_reason(charge, ctx.ledger.usage_after(charge, ctx.now))
        except Exception as exc:
            out.append(_objection(cap.id, "error", "cap", _err(exc), cap.message))
            continue
        charges.append(charge)
        if reason is not None:
            outcome: RuleOutcome = "forbid" if cap.on_exceed == "deny" else "approve"
            out.append(_objection(cap.id, outcome, "cap", reason, cap.message))
    return tuple(charges)


def _combine(
    tool: CompiledTool,
    objections: list[_Objection],
    charges: tuple[CapCharge, ...],
    provenance: dict[str, tuple[LeafProvenance, ...]],
) -> Verdict:
    if not objections:
        return Verdict(
            decision="allow",
            reasons=(f"tool {tool.name!r} is allowed and no rule objects",),
            rules=(tool_rule_id(tool.name),),
            charges=charges,
            provenance=provenance,
        )
    by: dict[RuleOutcome, list[_Objection]] = {"forbid": [], "error": [], "approve": []}
    for obj in objections:
        by[obj.result.outcome].append(obj)
    errors = tuple(f"{o.result.rule_id}: {o.result.reason}" for o in by["error"])
    decision: Decision
    if by["forbid"]:
        decision, deciding = "deny", by["forbid"] + by["error"]
    elif by["error"]:
        decision, deciding = "error", by["error"]
    else:  # objections exist, none forbid or errored: they ask for approval
        decision, deciding = "approve", by["approve"]
    messages = [o.message for o in deciding if o.message]
    return Verdict(
        decision=decision,
        reasons=tuple(o.result.reason for o in deciding),
        rules=tuple(dict.fromkeys(o.result.rule_id for o in deciding)),
        errors=errors,
        categories=tuple(dict.fromkeys(o.result.category for o in deciding)),
        charges=charges,
        provenance=provenance,
        public_message=messages[0] if messages else tool.spec.message,
    )


__all__ = ["DEFAULT_DENY_RULE", "CompiledTool", "Policy", "tool_rule_id"]
