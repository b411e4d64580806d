"""Targets: what a suite runs against.

``reference:worst-case`` / ``reference:compliant`` (the bundled agent with a scripted model),
``reference:MODEL_SPEC`` (the bundled agent loop with any model backend),
``openai:URL#MODEL`` (an OpenAI-compatible endpoint with tool calling driving the same loop over
the environment's tools), ``gguf:PATH`` (a local model, optional extra) and
``python:module:function`` (your own agent: it receives an :class:`AgentInput` and calls tools
through it). Register more kinds with :func:`target_kind` or the entry-point group
``ringfence.targets``.

The harness, not the target, decides whether tool calls go through a ringfence policy: the
episode's ``runner`` is either a direct runner or a gateway session.
"""

from __future__ import annotations

import importlib
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, Protocol, runtime_checkable

from ringfence.agents import (
    ChatModel,
    GuardHook,
    Message,
    ScriptedModel,
    ToolRunner,
    Transcript,
    Usage,
    World,
    make_model,
    run_agent,
    screen_answer,
    screen_tool_output,
    screen_turn,
)
from ringfence.agents._loop import MAX_STEPS
from ringfence.evals._schema import Case
from ringfence.exceptions import ConfigError

ENTRY_POINT_GROUP = "ringfence.targets"


@dataclass
class Episode:
    """One run of one case: the world, the runner its tool calls go through, the user's turns."""

    case: Case
    world: World
    runner: ToolRunner
    system_prompt: str
    turns: Sequence[str]
    hooks: Sequence[GuardHook] = ()
    max_steps: int = MAX_STEPS


@runtime_checkable
class Target(Protocol):
    """Something a suite can run against."""

    name: str

    def run(self, episode: Episode) -> Transcript: ...


class AgentTarget:
    """The agent loop (:func:`ringfence.agents.run_agent`) with a chat model."""

    def __init__(self, model: ChatModel, name: str | None = None) -> None:
        self.model = model
        self.name = name or model.name

    def run(self, episode: Episode) -> Transcript:
        return run_agent(self.model, episode.runner, episode.system_prompt, episode.turns,
                         hooks=episode.hooks, max_steps=episode.max_steps)  # fmt: skip


@dataclass
class AgentInput:
    """What a Python agent under test receives. Call tools with :meth:`call_tool`: the result is
    the text the model should see (a tool result, or why the call did not run)."""

    case_id: str
    category: str
    turns: list[str]
    system_prompt: str
    tools: list[dict[str, Any]]
    """OpenAI function schemas of the tools on offer."""
    _call: Callable[[str, Mapping[str, Any]], str] = field(repr=False)

    def call_tool(self, name: str, args: Mapping[str, Any] | None = None) -> str:
        return self._call(name, dict(args or {}))


@dataclass
class AgentReply:
    """What a Python agent may return (a plain string or a list of strings also works)."""

    outputs: list[str]
    """One answer per user turn (or just the final one)."""
    usage: Usage = field(default_factory=Usage)


AgentFn = Callable[[AgentInput], "str | list[str] | AgentReply"]


class PythonTarget:
    """A Python callable agent ``fn(AgentInput) -> str | list[str] | AgentReply``."""

    def __init__(self, fn: AgentFn, name: str) -> None:
        self.fn = fn
        self.name = name

    def run(self, episode: Episode) -> Transcript:
        out = Transcript(messages=[Message("system", episode.system_prompt)])
        episode.runner.add_content(episode.system_prompt, "system")
        turns = []
        for text in episode.turns:
            verdict = screen_turn(out, episode.hooks, episode.runner, text)
            if verdict.verdict in ("block", "error"):
                continue
            out.messages.append(Message("user", text))
            turns.append(text)

        def call(name: str, args: Mapping[str, Any]) -> str:
            record = episode.runner.call(name, args, uuid.uuid4().hex[:16])
            out.calls.append(record)
            return screen_tool_output(out, episode.hooks, episode.runner, record)

        agent_input = AgentInput(episode.case.id, episode.case.category, turns,
                                 episode.system_prompt, episode.runner.schemas(), call)  # fmt: skip
        reply = self.fn(agent_input)
        outputs, usage = _outputs(reply)
        out.usage = usage
        out.turn_outputs = [screen_answer(out, episode.hooks, text) for text in outputs]
        return out


def _outputs(reply: object) -> tuple[list[str], Usage]:
    if isinstance(reply, AgentReply):
        return [str(o) for o in reply.outputs], reply.usage
    if isinstance(reply, str):
        return [reply], Usage()
    if isinstance(reply, list) and all(isinstance(o, str) for o in reply):
        return list(reply), Usage()
    raise TypeError(f"a python target must return str, list[str] or AgentReply, got {reply!r}")


TargetFactory = Callable[[str], Target]
TARGET_KINDS: dict[str, TargetFactory] = {}


def target_kind(kind: str) -> Callable[[TargetFactory], TargetFactory]:
    """Decorator: register a factory for target specs ``KIND:...``."""

    def register(factory: TargetFactory) -> TargetFactory:
        TARGET_KINDS[kind] = factory
        return factory

    return register


def make_target(spec: str) -> Target:
    """Build a target from its spec (see the module docstring)."""
    kind, sep, rest = spec.partition(":")
    factory = TARGET_KINDS.get(kind) if sep else None
    if factory is None and sep:
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            if ep.name == kind:
                factory = TARGET_KINDS[kind] = ep.load()
    if factory is None:
        known = ", ".join(f"{k}:..." for k in sorted(TARGET_KINDS))
        raise ConfigError(f"unknown target {spec!r} (known: {known})")
    return factory(rest)


@target_kind("reference")
def _reference(rest: str) -> Target:
    if rest == "worst-case":
        return AgentTarget(ScriptedModel("worst-case"), "reference:worst-case")
    if rest == "compliant":
        return AgentTarget(ScriptedModel("compliant"), "reference:compliant")
    if rest.startswith("scripted:"):
        return _reference(rest.removeprefix("scripted:"))
    if ":" not in rest:
        raise ConfigError(f"reference:{rest}: use reference:worst-case, reference:compliant or "
                          "reference:MODEL_SPEC (e.g. reference:gguf:smollm2)")  # fmt: skip
    return AgentTarget(make_model(rest), f"reference:{rest}")


@target_kind("openai")
def _openai(rest: str) -> Target:
    return AgentTarget(make_model(f"openai:{rest}"), f"openai:{rest}")


@target_kind("gguf")
def _gguf(rest: str) -> Target:
    return AgentTarget(make_model(f"gguf:{rest}"), f"gguf:{rest}")


@target_kind("python")
def _python(rest: str) -> Target:
    module_name, sep, attr = rest.rpartition(":")
    if not sep or not module_name or not attr:
        raise ConfigError(f"a python target needs python:module:function, got python:{rest}")
    try:
        fn = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"cannot import python:{rest}: {exc}") from exc
    if not callable(fn):
        raise ConfigError(f"python:{rest} is not callable")
    return PythonTarget(fn, f"python:{rest}")
