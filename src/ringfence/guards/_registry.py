"""The guard registry: ``@guard(name=...)`` and the ``ringfence.guards`` entry-point group.

A registered factory (usually a class) is called with the options a policy gives under ``with:``;
when it declares a pydantic model ``Options``, the options are validated with it first, so a typo
in a policy is reported with its line, not at the first request.

Other packages add guards with an entry point::

    [project.entry-points."ringfence.guards"]
    my_guard = "my_package.guards:MyGuard"
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from importlib.metadata import entry_points
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from ringfence.exceptions import ConfigError
from ringfence.guards._types import Guard

ENTRY_POINT_GROUP = "ringfence.guards"

GuardFactory = Callable[..., Guard]
F = TypeVar("F", bound=Callable[..., Any])

_REGISTRY: dict[str, GuardFactory] = {}
_LOCK = threading.Lock()
_LOADED: list[bool] = []  # non-empty once the entry points are loaded


def guard(*, name: str) -> Callable[[F], F]:
    """Class (or factory) decorator: register a guard under ``name`` so policies can ``use`` it."""

    def register(factory: F) -> F:
        existing = _REGISTRY.get(name)
        if existing is not None and existing is not factory and not _redefined(existing, factory):
            raise ConfigError(f"a guard named {name!r} is already registered ({existing!r})")
        _REGISTRY[name] = factory
        return factory

    return register


def _redefined(old: object, new: object) -> bool:
    """The same class defined again (a module reloaded, a notebook cell run twice)."""
    names = ("__module__", "__qualname__")
    return all(getattr(old, n, None) == getattr(new, n, object()) for n in names)


def _load_entry_points() -> None:
    with _LOCK:
        if _LOADED:
            return
        _LOADED.append(True)
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            if ep.name in _REGISTRY:
                continue
            try:
                _REGISTRY[ep.name] = ep.load()
            except Exception as exc:
                raise ConfigError(
                    f"entry point {ep.name!r} ({ep.value}) in group {ENTRY_POINT_GROUP!r} "
                    f"cannot be loaded: {exc}"
                ) from exc


def registered_guards() -> list[str]:
    """Names of every guard a policy can ``use`` (built-in and from entry points)."""
    _load_entry_points()
    return sorted(_REGISTRY)


def guard_factory(name: str) -> GuardFactory:
    """The factory registered as ``name``; :class:`ConfigError` naming the known ones if none."""
    factory = _REGISTRY.get(name)
    if factory is None:
        _load_entry_points()
        factory = _REGISTRY.get(name)
    if factory is None:
        known = ", ".join(registered_guards())
        raise ConfigError(f"unknown guard {name!r} (registered guards: {known})")
    return factory


def options_model(name: str) -> type[BaseModel] | None:
    """The pydantic model that validates a guard's options, if it declares one (``Options``)."""
    model = getattr(guard_factory(name), "Options", None)
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def create_guard(name: str, options: Mapping[str, Any] | None = None) -> Guard:
    """Build a registered guard with ``options`` (validated with its ``Options`` model)."""
    factory = guard_factory(name)
    kwargs = dict(options or {})
    model = options_model(name)
    if model is not None:
        try:
            validated = model.model_validate(kwargs)
        except ValidationError as exc:
            raise ConfigError(f"guard {name!r}: invalid options: {exc}") from exc
        kwargs = {key: getattr(validated, key) for key in type(validated).model_fields}
    try:
        built = factory(**kwargs)
    except (ConfigError, ValidationError, TypeError, ValueError) as exc:
        if isinstance(exc, ConfigError):
            raise
        raise ConfigError(f"guard {name!r}: {exc}") from exc
    if not isinstance(built, Guard):
        raise ConfigError(
            f"guard {name!r}: {factory!r} did not build a Guard (needs name, "
            "threshold, default_action and check)"
        )
    return built
