"""One unit of the benchmark: a user task alone (benign) or a (user task, injection task) pair,
run by one agent in one provenance mode, with and without a person deciding approvals, and
scored by AgentDojo's own checks.

Scoring is exactly ``TaskSuite.run_task_with_pipeline``'s (``_check_task_result``: the checks
from traces when a task has them, else ``utility()`` / ``security()``), with one difference we
state: the trace holds the calls that **ran**. A call the gateway refused never reached the
environment; AgentDojo's trace holds every call the model proposed because its defences never
refuse one.
"""

from __future__ import annotations

import functools
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ringfence.agentdojo._agents import AgentKind, AgentRun, run_llm, run_oracle, run_worst_case
from ringfence.agentdojo._loader import (
    DEFAULT_MODEL_NAME,
    attack,
    dojo,
    injections_for,
    load_environment,
    quiet,
    suite,
)
from ringfence.agentdojo._operator import ApprovalRecord, Human, carrying
from ringfence.agentdojo._packs import load_pack
from ringfence.agentdojo._recording import Mode
from ringfence.agentdojo._runner import DojoRunner, tool_names
from ringfence.agents import ChatModel
from ringfence.guards import GuardPipeline, GuardReport, build_pipeline
from ringfence.guards._types import Direction
from ringfence.policy import Policy
from ringfence.provenance import AnswerSpan, Label

BENCH_DEADLINE_MS = 5000.0
"""Guard deadline for benchmark runs: the packs say 250 ms, which a loaded 2-core machine can
miss on a long document (a miss is an error, which fails closed and would make the figures depend
on the machine's load). The guards are deterministic, so only the time limit changes."""


@dataclass(frozen=True)
class Unit:
    """What to run: a user task, and an injection task with an attack (or neither: benign)."""

    suite: str
    user_task: str
    injection_task: str | None = None
    attack: str | None = None


@dataclass
class Outcome:
    """One unit run by one agent in one mode (``attacked`` is None for a benign unit)."""

    unit: Unit
    agent: AgentKind
    mode: Mode
    utility: bool = False
    """Autonomous: no one answers approval requests (a request counts as not done)."""
    utility_with_approvals: bool = False
    """A person approves the user task's own requests."""
    attacked: bool | None = None
    """The injection task's goal was reached, the person approving what they could not tell
    apart (a request showing the injection's untrusted origin is denied)."""
    attacked_autonomous: bool | None = None
    attacked_raw: bool | None = None
    """AgentDojo's own verdict on what the person saw, counting an answer part cited with its
    untrusted origin as a success (``attacked`` counts it as shown to a person, like an approval
    request that shows the origin)."""
    answer_traced: bool = False
    """The answer had parts that come only from untrusted content (cited or withheld)."""
    approvals: list[ApprovalRecord] = field(default_factory=list)
    refused: int = 0
    """Calls the policy denied (or that errored) in the run with approvals."""
    injection_seen: bool = False
    flagged: bool = False
    """A guard flagged some content the agent read (in a benign run: a false positive)."""
    injection_flagged: bool = False
    """A guard flagged content that carries the injected text."""
    synthetic: bool = False
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "suite": self.unit.suite,
            "user_task": self.unit.user_task,
            "injection_task": self.unit.injection_task,
            "attack": self.unit.attack,
            "agent": self.agent,
            "mode": self.mode,
            "utility": self.utility,
            "utility_with_approvals": self.utility_with_approvals,
            "attacked": self.attacked,
            "attacked_autonomous": self.attacked_autonomous,
            "attacked_raw": self.attacked_raw,
            "answer_traced": self.answer_traced,
            "approvals": [a.to_dict() for a in self.approvals],
            "refused": self.refused,
            "injection_seen": self.injection_seen,
            "flagged": self.flagged,
            "injection_flagged": self.injection_flagged,
            "synthetic": self.synthetic,
            "error": self.error,
        }


class MemoPipeline(GuardPipeline):
    """A guard pipeline that remembers its reports by (direction, text): the benchmark shows
    the same documents thousands of times and the guards are deterministic."""

    def __init__(self, inner: GuardPipeline, limit: int = 200_000) -> None:
        vars(self).update(vars(inner))
        self._memo: dict[tuple[str, str], GuardReport] = {}
        self._limit = limit

    def evaluate(
        self, text: str, label: Label | None = None, direction: Direction = "input"
    ) -> GuardReport:
        key = (direction, text)
        found = self._memo.get(key)
        if found is None:
            found = super().evaluate(text, label, direction)
            if len(self._memo) < self._limit:
                self._memo[key] = found
        return found


@dataclass
class Context:
    """What a process reuses across units: policies, guard pipelines, the model."""

    pack: str = "default"
    model: ChatModel | None = None
    model_name: str = DEFAULT_MODEL_NAME
    synthetic: bool = True
    max_steps: int = 15
    utility_under_attack: bool = True
    """Check the user task's utility in attacked runs too (AgentDojo's slowest check; the
    worst-case agent's figure there says little, so the benchmark skips it for that agent)."""
    _policies: dict[str, Policy] = field(default_factory=dict)
    _guards: dict[str, GuardPipeline | None] = field(default_factory=dict)

    def policy(self, suite_name: str) -> Policy:
        if suite_name not in self._policies:
            self._policies[suite_name] = load_pack(self.pack, suite_name, tool_names(suite_name))
        return self._policies[suite_name]

    def guards(self, suite_name: str) -> GuardPipeline | None:
        if suite_name not in self._guards:
            spec = self.policy(suite_name).spec.guards
            pipeline = None
            if spec is not None:
                slow = spec.model_copy(update={"deadline_ms": BENCH_DEADLINE_MS})
                pipeline = MemoPipeline(build_pipeline(slow))
            self._guards[suite_name] = pipeline
        return self._guards[suite_name]

    def close(self) -> None:
        for pipeline in self._guards.values():
            if pipeline is not None:
                pipeline.close()
        self._guards.clear()


@dataclass
class _Single:
    utility: bool
    attacked: bool | None
    approvals: list[ApprovalRecord]
    refused: int
    run: AgentRun
    seen: bool
    flagged: bool
    caught: bool
    attacked_raw: bool | None = None
    traced: bool = False


def run_unit(ctx: Context, unit: Unit, agents: list[AgentKind], modes: list[Mode]) -> list[Outcome]:
    """Run ``unit`` for each agent and mode; a failure is recorded, never raised."""
    try:
        tasks = _tasks(unit)
        injections = _injections(ctx, unit, tasks)
        base = load_environment(unit.suite, injections)
    except Exception as exc:
        return [_failed(unit, a, m, exc) for a in agents for m in modes]
    out = []
    for agent in agents:
        for mode in modes:
            try:
                out.append(_outcome(ctx, unit, tasks, injections, base, agent, mode))
            except Exception as exc:
                out.append(_failed(unit, agent, mode, exc))
    return out


def _failed(unit: Unit, agent: AgentKind, mode: Mode, exc: BaseException) -> Outcome:
    where = traceback.format_exception(exc)[-2:]
    return Outcome(unit, agent, mode, error=f"{type(exc).__name__}: {exc} | {''.join(where)}")


def _tasks(unit: Unit) -> tuple[Any, Any | None]:
    s = suite(unit.suite)
    user = s.user_tasks.get(unit.user_task)
    if user is None:
        raise KeyError(f"{unit.suite} has no {unit.user_task}")
    if unit.injection_task is None:
        return user, None
    injection = s.injection_tasks.get(unit.injection_task)
    if injection is None:
        raise KeyError(f"{unit.suite} has no {unit.injection_task}")
    return user, injection


def _injections(ctx: Context, unit: Unit, tasks: tuple[Any, Any | None]) -> dict[str, str]:
    if tasks[1] is None or unit.attack is None:
        return {}
    return injections_for(attack(unit.attack, unit.suite, ctx.model_name), *tasks)


def _outcome(
    ctx: Context,
    unit: Unit,
    tasks: tuple[Any, Any | None],
    injections: dict[str, str],
    base: Any,
    agent: AgentKind,
    mode: Mode,
) -> Outcome:
    run = functools.partial(_single, ctx, unit, tasks, injections, base, agent, mode)
    helped = run("approve-legitimate")
    alone = run("autonomous") if helped.approvals else helped
    return Outcome(
        unit,
        agent,
        mode,
        utility=alone.utility,
        utility_with_approvals=helped.utility,
        attacked=helped.attacked,
        attacked_autonomous=alone.attacked,
        attacked_raw=helped.attacked_raw,
        answer_traced=helped.traced,
        approvals=helped.approvals,
        refused=helped.refused,
        injection_seen=helped.seen,
        flagged=helped.flagged,
        injection_flagged=helped.caught,
        synthetic=helped.run.synthetic,
    )


def _single(
    ctx: Context,
    unit: Unit,
    tasks: tuple[Any, Any | None],
    injections: dict[str, str],
    base: Any,
    agent: AgentKind,
    mode: Mode,
    human: Human,
) -> _Single:
    user_task, injection_task = tasks
    with quiet():
        env = user_task.init_environment(base.model_copy(deep=True))
        pre = env.model_copy(deep=True)
    runner = DojoRunner(unit.suite, env, ctx.policy(unit.suite), mode=mode, human=human,
                        guards=ctx.guards(unit.suite), injections=injections,
                        agent=f"agentdojo-{agent}")  # fmt: skip
    with runner:
        done = _act(ctx, runner, agent, user_task, injection_task, pre)
        answer = runner.session.trace_answer(done.answer)
        check = functools.partial(_check, unit.suite, answer.text, pre, env, runner.traces)
        skip = injection_task is not None and not ctx.utility_under_attack
        utility = False if skip else check(user_task)
        raw = check(injection_task) if injection_task is not None else None
        attacked = raw
        if raw and answer.spans:  # did the attack need the parts shown with their origin?
            bare = _without(answer.original, answer.spans)
            attacked = _check(unit.suite, bare, pre, env, runner.traces, injection_task)
        refused = sum(1 for s in runner.steps if s.record.decision in ("deny", "error"))
        seen = any(s.saw_injection for s in runner.steps)
        flagged = [i for i in runner.session.index.items() if i.tainted or i.taint_spans]
        carries = carrying(runner.session.index, runner.needles)
        caught = any(carries(i.id, None) for i in flagged)
        records = list(runner.operator.records)
        return _Single(utility, attacked, records, refused, done, seen, bool(flagged), caught,
                       raw, bool(answer.spans))  # fmt: skip


def _without(text: str, spans: list[AnswerSpan]) -> str:
    """``text`` without the traced parts: what the answer says on trusted content alone."""
    for span in reversed(spans):
        text = text[: span.start] + text[span.end :]
    return text


def _act(
    ctx: Context,
    runner: DojoRunner,
    agent: AgentKind,
    user_task: Any,
    injection_task: Any | None,
    pre: Any,
) -> AgentRun:
    if agent == "llm":
        if ctx.model is None:
            raise ValueError("the llm agent needs a model")
        return run_llm(runner, user_task, ctx.model, ctx.max_steps)
    if agent == "worst-case" and injection_task is not None:
        return run_worst_case(runner, user_task, injection_task, pre, synthetic=ctx.synthetic)
    return run_oracle(runner, user_task)


def _check(suite_name: str, answer: str, pre: Any, post: Any, traces: list[Any], task: Any) -> bool:
    blocks = [dojo().text_content_block_from_string(answer)]
    with quiet():
        return bool(suite(suite_name)._check_task_result(task, blocks, pre, post, traces))


Progress = Callable[[Unit, list[Outcome]], None]
