"""Environments: the world an agent acts in (tools, data, a system prompt, an ownership lookup).

An eval case names its environment (``support-desk``) and may inject content into it (web
pages, e-mails, documents, tool outputs) through a setup the environment validates with its own
pydantic model. Environments register with :func:`environment`; third-party ones use the
entry-point group ``ringfence.environments``.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel

from ringfence.exceptions import ConfigError
from ringfence.gateway import Tool
from ringfence.policy import Principal

ENTRY_POINT_GROUP = "ringfence.environments"


@runtime_checkable
class World(Protocol):
    """One fresh instance of an environment, for one run of one case."""

    principal: Principal

    def tools(self) -> list[Tool]:
        """The tools the agent may call (executed against this world)."""
        ...

    def system_prompt(self) -> str: ...

    def owner(self, kind: str, resource_id: str) -> str | None:
        """Ownership lookup for the policy (a :class:`ringfence.policy.ResourceResolver`)."""
        ...

    def state(self) -> dict[str, Any]:
        """The world's state as plain data, for state predicates after the run."""
        ...


@runtime_checkable
class Environment(Protocol):
    """A kind of world. ``setup_model`` validates a case's ``environment:`` block."""

    name: str
    setup_model: type[BaseModel]
    default_principal: str

    def build(self, setup: BaseModel | None, principal: str) -> World: ...

    def default_policy_path(self) -> Path | None:
        """The policy shipped with this environment, if any."""
        ...


ENVIRONMENTS: dict[str, Callable[[], Environment]] = {}


def environment(name: str) -> Callable[[Callable[[], Environment]], Callable[[], Environment]]:
    """Decorator: register an environment factory under ``name``."""

    def register(factory: Callable[[], Environment]) -> Callable[[], Environment]:
        ENVIRONMENTS[name] = factory
        return factory

    return register


def get_environment(name: str) -> Environment:
    """The environment registered as ``name`` (built-ins, then entry points)."""
    _load_builtins()
    factory = ENVIRONMENTS.get(name)
    if factory is None:
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            if ep.name == name:
                factory = ENVIRONMENTS[name] = ep.load()
                break
    if factory is None:
        known = ", ".join(sorted(ENVIRONMENTS))
        raise ConfigError(f"unknown environment {name!r} (known: {known})")
    return factory()


def _load_builtins() -> None:
    import ringfence.agents.support_desk  # noqa: F401  (registers "support-desk")
