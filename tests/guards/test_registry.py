"""The registry (decorator + entry points) and the package's public API."""

from __future__ import annotations

import importlib.metadata

import pytest

import ringfence.guards as guards
from ringfence.exceptions import ConfigError
from ringfence.guards import _registry, create_guard, guard, registered_guards

BUILT_IN = {"allowlist", "canary", "encoding", "exfil", "injection", "pii", "refusal", "schema",
            "secrets", "size", "unicode"}  # fmt: skip


def test_all_is_complete_and_resolves():
    assert len(guards.__all__) == len(set(guards.__all__))
    for name in guards.__all__:
        assert getattr(guards, name) is not None
    public = {n for n in dir(guards) if not n.startswith("_") and n not in {"annotations"}}
    modules = {n for n in public if type(getattr(guards, n)).__name__ == "module"}
    assert public - modules - {"importlib", "TYPE_CHECKING", "Any"} <= set(guards.__all__)
    with pytest.raises(AttributeError):
        _ = guards.NoSuchThing  # type: ignore[attr-defined]


def test_built_in_guards_are_registered():
    assert set(registered_guards()) >= BUILT_IN


def test_registering_twice_under_one_name_fails():
    @guard(name="test-twice")
    class One:
        pass

    assert guard(name="test-twice")(One) is One  # the same factory again is fine
    with pytest.raises(ConfigError, match="already registered"):

        @guard(name="test-twice")
        class Two:
            pass

    first, second = _define(), _define()  # the same class defined again (a reload)
    assert first is not second
    assert _registry._REGISTRY["test-redefined"] is second


def _define() -> type:
    @guard(name="test-redefined")
    class Same:
        pass

    return Same


def test_unknown_guard_names_the_known_ones():
    with pytest.raises(ConfigError, match="registered guards: allowlist"):
        create_guard("nope")


def test_options_are_validated_and_factories_must_build_guards():
    with pytest.raises(ConfigError, match="invalid options"):
        create_guard("size", {"max_chars": "many"})

    @guard(name="test-not-a-guard")
    def build() -> object:
        return object()

    with pytest.raises(ConfigError, match="did not build a Guard"):
        create_guard("test-not-a-guard")


class _EntryPoint:
    def __init__(self, name: str, target: object, fail: bool = False) -> None:
        self.name, self.value, self._target, self._fail = name, f"pkg:{name}", target, fail

    def load(self) -> object:
        if self._fail:
            raise ImportError("missing module")
        return self._target


class FromPlugin:
    name = "plugin"
    threshold = 0.5
    default_action = "flag"

    def check(self, text, label):
        return []


def test_entry_points_add_guards(monkeypatch):
    monkeypatch.setattr(_registry, "_LOADED", [])
    monkeypatch.setattr(_registry, "_REGISTRY", dict(_registry._REGISTRY))

    def fake(group: str):
        assert group == "ringfence.guards"
        return [_EntryPoint("plugin", FromPlugin)]

    monkeypatch.setattr(_registry, "entry_points", fake)
    assert "plugin" in registered_guards()
    assert isinstance(create_guard("plugin"), FromPlugin)


def test_a_broken_entry_point_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(_registry, "_LOADED", [])
    monkeypatch.setattr(_registry, "_REGISTRY", dict(_registry._REGISTRY))
    monkeypatch.setattr(_registry, "entry_points", lambda group: [_EntryPoint("bad", None, True)])
    with pytest.raises(ConfigError, match="entry point 'bad'"):
        registered_guards()


def test_the_entry_point_group_is_declared():
    dist = importlib.metadata.distribution("ringfence")
    assert dist.entry_points is not None
    assert guards.ENTRY_POINT_GROUP == "ringfence.guards"
