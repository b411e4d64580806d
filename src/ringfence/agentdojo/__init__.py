"""AgentDojo through ringfence: the public prompt-injection benchmark for tool-using agents,
run with every tool call going through the gateway (policy, provenance from every result the
agent saw, guards on tool outputs, approvals), scored by AgentDojo's own checks.

Needs the optional extra ``agentdojo`` (``pip install 'ringfence[agentdojo]'``); importing this
package does not import AgentDojo. See ``docs/agentdojo.md``.
"""

from ringfence.agentdojo._agents import AGENTS, AgentKind, AgentRun
from ringfence.agentdojo._benchmark import BenchmarkConfig, run_benchmark, units
from ringfence.agentdojo._loader import (
    AGENTDOJO_REQUIREMENT,
    BENCHMARK_VERSION,
    DEFAULT_MODEL_NAME,
    GOAL_ATTACKS,
    SUITES,
    SuiteName,
    available,
    load_environment,
)
from ringfence.agentdojo._operator import (
    ApprovalRecord,
    Human,
    Phase,
    SimulatedOperator,
    shown_origin,
)
from ringfence.agentdojo._packs import allow_all, load_pack, pack_path
from ringfence.agentdojo._recording import MODES, DojoRecorder, Mode
from ringfence.agentdojo._report import summarise
from ringfence.agentdojo._run import Context, Outcome, Unit, run_unit
from ringfence.agentdojo._runner import DojoRunner
from ringfence.agentdojo._synthetic import SYNTHETIC_TASKS, synthetic_ground_truth

__all__ = [
    "AGENTDOJO_REQUIREMENT",
    "AGENTS",
    "BENCHMARK_VERSION",
    "DEFAULT_MODEL_NAME",
    "GOAL_ATTACKS",
    "MODES",
    "SUITES",
    "SYNTHETIC_TASKS",
    "AgentKind",
    "AgentRun",
    "ApprovalRecord",
    "BenchmarkConfig",
    "Context",
    "DojoRecorder",
    "DojoRunner",
    "Human",
    "Mode",
    "Outcome",
    "Phase",
    "SimulatedOperator",
    "SuiteName",
    "Unit",
    "allow_all",
    "available",
    "load_environment",
    "load_pack",
    "pack_path",
    "run_benchmark",
    "run_unit",
    "shown_origin",
    "summarise",
    "synthetic_ground_truth",
    "units",
]
