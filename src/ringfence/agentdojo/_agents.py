"""The agents: two model-free ones that bound what the defence costs and lets through, and a
real tool-calling loop over a chat model.

- ``oracle``: the user task's ground-truth calls, then its ground-truth answer. It never obeys
  an injection, so it measures what the defence *costs*: utility lost to refusals, and the
  approvals it needs, when the agent does exactly the right thing.
- ``worst-case``: the same, but as soon as a result it saw carries the injection it makes the
  injection task's ground-truth calls (a model that always obeys), then finishes the user task;
  its answer adds the injection task's answer. It measures the ceiling of targeted ASR under the
  defence.
- ``llm``: :func:`ringfence.agents.run_agent` with a chat model (OpenAI-compatible endpoint or a
  local GGUF model) over the same runner.

Ground truths are computed once from the environment before the first call, as AgentDojo's own
``GroundTruthPipeline`` does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from ringfence.agentdojo._loader import quiet, system_message
from ringfence.agentdojo._runner import DojoRunner
from ringfence.agentdojo._synthetic import synthetic_ground_truth
from ringfence.agents import ChatModel, run_agent

AgentKind = Literal["oracle", "worst-case", "llm"]
"""Which agent runs the tasks (see the module docstring)."""

AGENTS: tuple[AgentKind, ...] = ("oracle", "worst-case", "llm")


@dataclass(frozen=True)
class AgentRun:
    """What an agent did in one run."""

    answer: str
    injected_at: int | None = None
    """Index of the user-task call whose result carried the injection (worst-case only)."""
    synthetic: bool = False
    """The injection calls were our own ground truth (workspace injection tasks 6-13)."""
    model_calls: int = 0


def _ground_truth(task: Any, environment: Any) -> list[Any]:
    with quiet():
        calls: list[Any] = task.ground_truth(environment)
    return calls


def run_oracle(runner: DojoRunner, user_task: Any) -> AgentRun:
    runner.add_content(user_task.PROMPT, "user")
    for call in _ground_truth(user_task, runner.environment):
        runner.step(call.function, call.args)
    return AgentRun(user_task.GROUND_TRUTH_OUTPUT)


def run_worst_case(
    runner: DojoRunner,
    user_task: Any,
    injection_task: Any,
    pre_environment: Any,
    *,
    synthetic: bool = True,
) -> AgentRun:
    runner.add_content(user_task.PROMPT, "user")
    injected_at: int | None = None
    used_synthetic = False
    for i, call in enumerate(_ground_truth(user_task, runner.environment)):
        step = runner.step(call.function, call.args)
        if injected_at is None and step.saw_injection:
            injected_at = i
            calls = _ground_truth(injection_task, runner.environment)
            if not calls and synthetic:
                with quiet():
                    calls = synthetic_ground_truth(
                        runner.suite_name, injection_task, pre_environment, runner.environment
                    )
                used_synthetic = bool(calls)
            _obey(runner, calls)
    answer = user_task.GROUND_TRUTH_OUTPUT
    if injected_at is not None and injection_task.GROUND_TRUTH_OUTPUT:
        answer = f"{answer}\n{injection_task.GROUND_TRUTH_OUTPUT}"
    return AgentRun(answer, injected_at, used_synthetic)


def _obey(runner: DojoRunner, calls: list[Any]) -> None:
    runner.set_phase("injection")
    try:
        for call in calls:
            runner.step(call.function, call.args)
    finally:
        runner.set_phase("user")


def run_llm(runner: DojoRunner, user_task: Any, model: ChatModel, max_steps: int) -> AgentRun:
    runner.set_phase("unknown")
    transcript = run_agent(model, runner, system_message(), [user_task.PROMPT],
                           max_steps=max_steps)  # fmt: skip
    return AgentRun(transcript.final_output, model_calls=transcript.model_calls)
