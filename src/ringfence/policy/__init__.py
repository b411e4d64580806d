"""Policies: the declarative model, the loader and the engine that decides tool calls.

Forbid overrides permit; a tool not declared is denied. A rule that errors never allows.
"""

from ringfence.policy._engine import DEFAULT_DENY_RULE, CompiledTool, Policy, tool_rule_id
from ringfence.policy._loader import load_policy, policy_from_data, policy_from_yaml
from ringfence.policy._model import (
    DEFAULT_SOURCES,
    ApprovalDefaults,
    ApprovalSpec,
    ApproverSpec,
    ArgSpec,
    CapSpec,
    Clause,
    Effect,
    OutputSpec,
    PolicySpec,
    ProvenanceSpec,
    ProxySpec,
    RuleSpec,
    ToolPolicy,
    parse_duration,
)
from ringfence.policy._types import (
    CallContext,
    CapCharge,
    CapLedger,
    Decision,
    Principal,
    ReasonCategory,
    ResourceResolver,
    RuleResult,
    StaticResolver,
    ToolCall,
    Verdict,
)

__all__ = [
    "DEFAULT_DENY_RULE",
    "DEFAULT_SOURCES",
    "ApprovalDefaults",
    "ApprovalSpec",
    "ApproverSpec",
    "ArgSpec",
    "CallContext",
    "CapCharge",
    "CapLedger",
    "CapSpec",
    "Clause",
    "CompiledTool",
    "Decision",
    "Effect",
    "OutputSpec",
    "Policy",
    "PolicySpec",
    "Principal",
    "ProvenanceSpec",
    "ProxySpec",
    "ReasonCategory",
    "ResourceResolver",
    "RuleResult",
    "RuleSpec",
    "StaticResolver",
    "ToolCall",
    "ToolPolicy",
    "Verdict",
    "load_policy",
    "parse_duration",
    "policy_from_data",
    "policy_from_yaml",
    "tool_rule_id",
]
