"""AgentDojo, loaded lazily: the optional extra, its suites, its attacks and environments.

Nothing here imports ``agentdojo`` at module import time; :func:`dojo` does, and a missing
extra fails with :class:`~ringfence.exceptions.MissingExtraError` naming the exact install.
Every call into AgentDojo runs under :func:`quiet`: it emits a pydantic deprecation warning for
every environment copy.
"""

from __future__ import annotations

import copy
import functools
import types
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

import yaml

from ringfence.exceptions import ConfigError, MissingExtraError

AGENTDOJO_REQUIREMENT = "agentdojo==0.1.35"
BENCHMARK_VERSION = "v1.2.2"

SuiteName = Literal["workspace", "travel", "banking", "slack"]
"""AgentDojo's four suites (benchmark v1.2.2: 40, 20, 16 and 21 user tasks)."""

SUITES: tuple[SuiteName, ...] = ("workspace", "travel", "banking", "slack")

GOAL_ATTACKS: tuple[str, ...] = (
    "important_instructions",
    "tool_knowledge",
    "ignore_previous",
    "system_message",
    "injecagent",
    "direct",
)
"""AgentDojo's attacks that carry the injection task's goal (the DoS attacks do not; ``manual``
asks a person for the text)."""

DEFAULT_MODEL_NAME = "gpt-4o-2024-05-13"
"""The model name some attacks address the model by (``important_instructions`` says "to you,
GPT-4"): the model of the published reference figures."""


@contextmanager
def quiet() -> Iterator[None]:
    """Silence the deprecation warnings AgentDojo emits on every environment copy."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        yield


@functools.cache
def dojo() -> types.SimpleNamespace:
    """The parts of AgentDojo the adapter uses (imported once; about 5 s)."""
    try:
        with quiet():
            from agentdojo.agent_pipeline.agent_pipeline import load_system_message
            from agentdojo.agent_pipeline.base_pipeline_element import BasePipelineElement
            from agentdojo.agent_pipeline.tool_execution import tool_result_to_str
            from agentdojo.attacks.attack_registry import ATTACKS, load_attack
            from agentdojo.functions_runtime import FunctionCall, FunctionsRuntime
            from agentdojo.task_suite.load_suites import get_suites
            from agentdojo.task_suite.task_suite import read_suite_file, validate_injections
            from agentdojo.types import text_content_block_from_string
    except ImportError as exc:
        raise MissingExtraError(
            "the AgentDojo benchmark", "agentdojo", AGENTDOJO_REQUIREMENT
        ) from exc
    return types.SimpleNamespace(
        ATTACKS=ATTACKS,
        BasePipelineElement=BasePipelineElement,
        FunctionCall=FunctionCall,
        FunctionsRuntime=FunctionsRuntime,
        get_suites=get_suites,
        load_attack=load_attack,
        load_system_message=load_system_message,
        read_suite_file=read_suite_file,
        text_content_block_from_string=text_content_block_from_string,
        tool_result_to_str=tool_result_to_str,
        validate_injections=validate_injections,
    )


def available() -> bool:
    """Whether the ``agentdojo`` extra is installed (without importing it)."""
    import importlib.util

    spec = importlib.util.find_spec("agentdojo")
    # a folder named agentdojo on the path (this project's tests/agentdojo) is a namespace
    # package without an origin, not the extra
    return spec is not None and spec.origin is not None


@functools.cache
def suites() -> dict[str, Any]:
    """AgentDojo's task suites of benchmark v1.2.2, by name."""
    with quiet():
        found: dict[str, Any] = dojo().get_suites(BENCHMARK_VERSION)
    return found


def suite(name: str) -> Any:
    """One suite; an unknown name is a :class:`ConfigError` listing the known ones."""
    found = suites().get(name)
    if found is None:
        raise ConfigError(f"unknown AgentDojo suite {name!r}; known: {', '.join(SUITES)}")
    return found


@functools.cache
def _vector_defaults(name: str) -> dict[str, str]:
    with quiet():
        defaults: dict[str, str] = suite(name).get_injection_vector_defaults()
    return defaults


def load_environment(name: str, injections: dict[str, str]) -> Any:
    """The suite's environment with ``injections`` filled in, exactly as
    ``TaskSuite.load_and_inject_default_environment`` builds it (the injected text is put into
    the environment's YAML, which folds its whitespace), but parsed with libyaml's C loader when
    PyYAML has it (about 10 times faster, identical result; ``tests/agentdojo`` checks it)."""
    d, s = dojo(), suite(name)
    with quiet():
        text = d.read_suite_file(name, "environment.yaml", s.data_path)
        defaults = _vector_defaults(name)
        d.validate_injections(injections, defaults)
        injected = text.format(**{**defaults, **injections})
        return s.environment_type.model_validate(_safe_load(injected))


def _safe_load(text: str) -> Any:
    loader = getattr(yaml, "CSafeLoader", None) or yaml.SafeLoader
    return yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader


def attack_names() -> list[str]:
    """Every attack AgentDojo registers (import side effect of ``agentdojo.attacks``)."""
    with quiet():
        import agentdojo.attacks  # noqa: F401 - registers the attacks

    return sorted(dojo().ATTACKS)


def pipeline_named(model_name: str) -> Any:
    """A stand-in for the target pipeline: attacks only read its ``name`` (to address the model
    by name); it is never queried."""
    base = dojo().BasePipelineElement

    class NamedPipeline(base):  # type: ignore[misc, valid-type]
        name = model_name

        def query(self, *args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("the attack's stand-in pipeline is never queried")

    return NamedPipeline()


@functools.cache
def attack(name: str, suite_name: str, model_name: str = DEFAULT_MODEL_NAME) -> Any:
    """An AgentDojo attack for one suite (cached: it caches its injection candidates)."""
    known = attack_names()
    if name not in known:
        raise ConfigError(f"unknown AgentDojo attack {name!r}; known: {', '.join(known)}")
    with quiet():
        try:
            return dojo().load_attack(name, _fast_suite(suite_name), pipeline_named(model_name))
        except ValueError as exc:  # the model name is not one AgentDojo knows
            raise ConfigError(f"attack {name!r}: {exc}") from exc


@functools.cache
def _fast_suite(name: str) -> Any:
    """A shallow copy of the suite for attacks, loading environments with :func:`load_environment`
    (attacks load one per user task to find the vectors its ground truth sees)."""
    fast = copy.copy(suite(name))
    fast.load_and_inject_default_environment = functools.partial(load_environment, name)
    return fast


def injections_for(attack_obj: Any, user_task: Any, injection_task: Any) -> dict[str, str]:
    """The attack's texts for one pair: ``{vector id: text}`` for the vectors the user task's
    ground truth sees (all the same text)."""
    with quiet():
        found: dict[str, str] = attack_obj.attack(user_task, injection_task)
    return found


def system_message() -> str:
    """AgentDojo's default system message (used by the ``llm`` agent)."""
    with quiet():
        text: str = dojo().load_system_message(None)
    return text
