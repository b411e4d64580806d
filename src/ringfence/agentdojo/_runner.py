"""Running AgentDojo tools through the ringfence gateway.

Each AgentDojo function is registered with a fresh :class:`~ringfence.gateway.Gateway` as an
OpenAI-style tool (arguments validated against AgentDojo's own schema). A proposed call goes
the one flow: validate, record provenance, decide with the suite's policy, ask the (simulated)
operator when the policy says ``approve``, execute against the AgentDojo environment, audit,
and record the result as content in the chosen provenance mode. :class:`DojoRunner` is a
:class:`ringfence.agents.ToolRunner`, so the model-free agents and the LLM loop use the same
path.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ringfence.agentdojo._loader import dojo, quiet, suite
from ringfence.agentdojo._operator import Human, Phase, SimulatedOperator
from ringfence.agentdojo._recording import DojoRecorder, Mode
from ringfence.agentdojo._results import Rendered, contains_any, is_structured, leaves, normalise
from ringfence.agents import ToolCallRecord
from ringfence.approval import ApprovalQueue
from ringfence.exceptions import RuntimeFailure
from ringfence.gateway import Gateway, Tool, tool_from_openai
from ringfence.guards import GuardPipeline
from ringfence.policy import Policy, Principal
from ringfence.provenance import Span
from ringfence.store import SqliteStore

PRINCIPAL = Principal("emma.johnson", kind="user")
"""The user every AgentDojo suite acts for."""


class _Slot:
    """Which runner the suite's tools act on (one run at a time per process)."""

    runner: DojoRunner | None = None


@functools.cache
def _slot(suite_name: str) -> _Slot:
    return _Slot()


@functools.cache
def suite_tools(suite_name: str) -> tuple[Tool, ...]:
    """The suite's functions as gateway tools (built once per process)."""
    slot = _slot(suite_name)
    tools = []
    for fn in suite(suite_name).tools:
        schema = {
            "name": fn.name,
            "description": fn.description,
            "parameters": fn.parameters.model_json_schema(),
        }

        def run(_name: str = fn.name, **kwargs: Any) -> Rendered:
            if slot.runner is None:
                raise RuntimeFailure("no AgentDojo run is active")
            return slot.runner.execute(_name, kwargs)

        tools.append(tool_from_openai(schema, run))
    return tuple(tools)


def tool_names(suite_name: str) -> list[str]:
    return [t.name for t in suite_tools(suite_name)]


@dataclass(frozen=True)
class Step:
    """One call an agent made: what happened, and whether its result carried the injection."""

    record: ToolCallRecord
    saw_injection: bool


class DojoRunner:
    """One run: a gateway over one AgentDojo environment (use as a context manager)."""

    def __init__(
        self,
        suite_name: str,
        environment: Any,
        policy: Policy,
        *,
        mode: Mode,
        human: Human,
        guards: GuardPipeline | None,
        injections: Mapping[str, str] | None = None,
        agent: str = "agentdojo",
    ) -> None:
        self.suite_name = suite_name
        self.environment = environment
        self.needles = frozenset(normalise(t) for t in (injections or {}).values() if t.strip())
        self._runtime = dojo().FunctionsRuntime(suite(suite_name).tools)
        self.store = SqliteStore(":memory:")
        self.queue = ApprovalQueue(self.store, policy=policy)
        self.operator = SimulatedOperator(self.queue, human, self.needles)
        self.gateway = Gateway(policy, store=self.store, approvals=self.operator, guards=guards)
        for tool in suite_tools(suite_name):
            if tool.name in policy.tools:
                self.gateway.add_tool(tool)
        self.session = self.gateway.session(PRINCIPAL, agent=agent)
        self.session.recorder = DojoRecorder(policy, mode)
        self.traces: list[Any] = []
        self.steps: list[Step] = []
        self._last_raw: Any = None

    # --- the ToolRunner protocol -----------------------------------------------------------

    def schemas(self) -> list[dict[str, Any]]:
        return self.gateway.openai_tools()

    def add_content(self, text: str, source: str) -> str | None:
        return self.session.add_content(text, source=source).id

    def taint(self, item_id: str, spans: tuple[Span, ...], reason: str) -> None:
        self.session.taint(item_id, spans=spans, reason=reason)

    def call(self, tool: str, args: Mapping[str, Any], call_id: str) -> ToolCallRecord:
        return self.step(tool, args, call_id=call_id).record

    # --- running ---------------------------------------------------------------------------

    def step(self, tool: str, args: Mapping[str, Any], *, call_id: str | None = None) -> Step:
        """Propose one call through the gateway; it runs only if the policy (or the operator)
        says so. Calls that ran are the trace AgentDojo's checks see."""
        self._last_raw = None
        with quiet():
            result = self.session.call(tool, dict(args), call_id=call_id)
        if result.executed:
            self.traces.append(dojo().FunctionCall(function=tool, args=dict(result.args)))
        record = ToolCallRecord.of(result, tool)
        step = Step(record, result.ok and self._carries(self._last_raw))
        self.steps.append(step)
        return step

    def execute(self, name: str, kwargs: dict[str, Any]) -> Rendered:
        """Run an AgentDojo function on the environment (called by the gateway's tool)."""
        with quiet():
            raw, error = self._runtime.run_function(self.environment, name, kwargs)
            if error:  # a bad id, a missing file...: the call ran and failed, as for any agent
                raise RuntimeFailure(error)
            self._last_raw = raw
            return Rendered(dojo().tool_result_to_str(raw), raw)

    def _carries(self, raw: Any) -> bool:
        if raw is None or not self.needles:
            return False
        if not is_structured(raw):
            return contains_any(str(raw), self.needles)
        return any(contains_any(text, self.needles) for _, text in leaves(raw))

    def set_phase(self, phase: Phase) -> None:
        self.operator.phase = phase

    def __enter__(self) -> DojoRunner:
        _slot(self.suite_name).runner = self
        return self

    def __exit__(self, *exc: object) -> None:
        _slot(self.suite_name).runner = None
        self.gateway.close()
        self.queue.close()
        self.store.close()
