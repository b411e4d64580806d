"""Turning a validated :class:`PolicySpec` into per-tool compiled checks, and cross-checks
that pydantic cannot do alone (unknown tools, duplicate rule ids)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

from ringfence.policy._checks import ChargeFn, Check, arg_checks, compile_cap, rule_check
from ringfence.policy._model import CapSpec, Effect, PolicySpec, ProvenanceSpec, ToolPolicy


def tool_rule_id(tool: str) -> str:
    """The id of a tool's effect rule (``tool:refund``)."""
    return f"tool:{tool}"


@dataclass(frozen=True)
class CompiledTool:
    """One tool's rules, ready to evaluate."""

    name: str
    spec: ToolPolicy
    checks: tuple[Check, ...]
    caps: tuple[CapSpec, ...]
    provenance: tuple[ProvenanceSpec, ...]
    effect: Effect = field(init=False)
    """``spec.effect``, read once."""
    charges: tuple[tuple[CapSpec, ChargeFn], ...] = field(init=False)
    """Each cap with its compiled charge function."""
    rule_id: str = field(init=False)
    """The id of the tool's effect rule (``tool:NAME``)."""
    allow_reasons: tuple[str, ...] = field(init=False)
    """The reasons of an ``allow`` verdict (no rule objects)."""
    approve_reason: str = field(init=False)
    """Why an ``approve`` tool waits for a person."""
    message: str | None = field(init=False)
    """``spec.message``: what the model is told when the tool is refused."""

    def __post_init__(self) -> None:
        set_ = object.__setattr__  # frozen: derived fields are set once, here
        set_(self, "effect", self.spec.effect)
        set_(self, "charges", tuple((cap, compile_cap(cap)) for cap in self.caps))
        set_(self, "rule_id", tool_rule_id(self.name))
        set_(self, "allow_reasons", (f"tool {self.name!r} is allowed and no rule objects",))
        set_(self, "message", self.spec.message)
        set_(self, "approve_reason", f"tool {self.name!r} requires human approval")

    def rule_ids(self) -> Iterator[str]:
        yield tool_rule_id(self.name)
        yield from (c.rule_id for c in self.checks)
        yield from (c.id for c in self.caps)
        yield from (p.id for p in self.provenance)


def compile_tools(spec: PolicySpec) -> dict[str, CompiledTool]:
    compiled: dict[str, CompiledTool] = {}
    rule_checks = [(rule, rule_check(rule)) for rule in spec.rules]
    for name, tool in spec.tools.items():
        checks: list[Check] = []
        for arg, arg_spec in tool.args.items():
            checks.extend(arg_checks(name, arg, arg_spec))
        checks.extend(c for r, c in rule_checks if "*" in r.tools or name in r.tools)
        caps = [*tool.caps, *(c for c in spec.caps if c.tools and name in c.tools)]
        compiled[name] = CompiledTool(
            name, tool, tuple(checks), tuple(caps), tuple(tool.provenance)
        )
    return compiled


def cross_check(spec: PolicySpec) -> list[tuple[tuple[str | int, ...], str]]:
    """Problems as (path in the document, reason): unknown tools, duplicate rule ids."""
    problems: list[tuple[tuple[str | int, ...], str]] = []
    for i, rule in enumerate(spec.rules):
        for j, tool in enumerate(rule.tools):
            if tool != "*" and tool not in spec.tools:
                problems.append((("rules", i, "tools", j), f"unknown tool {tool!r}"))
    for i, cap in enumerate(spec.caps):
        if not cap.tools:
            problems.append((("caps", i), "a top-level cap needs 'tools: [...]'"))
        for j, tool in enumerate(cap.tools or []):
            if tool not in spec.tools:
                problems.append((("caps", i, "tools", j), f"unknown tool {tool!r}"))
    problems.extend(_duplicate_ids(spec))
    problems.extend(_unknown_approval_rules(spec))
    return problems


def _unknown_approval_rules(spec: PolicySpec) -> list[tuple[tuple[str | int, ...], str]]:
    """``approval.rules`` keys must name rules that exist (a typo would silently not apply)."""
    known = {r.id for r in spec.rules} | {c.id for c in spec.caps}
    for name, tool in spec.tools.items():
        known.add(tool_rule_id(name))
        known.update(c.id for c in tool.caps)
        known.update(p.id for p in tool.provenance)
    return [
        (("approval", "rules", rule_id), f"unknown rule id {rule_id!r}")
        for rule_id in spec.approval.rules
        if rule_id not in known
    ]


def _duplicate_ids(spec: PolicySpec) -> list[tuple[tuple[str | int, ...], str]]:
    located: list[tuple[str, tuple[str | int, ...]]] = []
    for i, rule in enumerate(spec.rules):
        located.append((rule.id, ("rules", i, "id")))
    for i, cap in enumerate(spec.caps):
        located.append((cap.id, ("caps", i, "id")))
    for name, tool in spec.tools.items():
        for i, cap in enumerate(tool.caps):
            located.append((cap.id, ("tools", name, "caps", i, "id")))
        for i, prov in enumerate(tool.provenance):
            located.append((prov.id, ("tools", name, "provenance", i, "id")))
    counts = Counter(rule_id for rule_id, _ in located)
    return [(path, f"duplicate rule id {rid!r}") for rid, path in located if counts[rid] > 1]
