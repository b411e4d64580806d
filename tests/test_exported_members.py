"""Every public package's __all__ is complete, importable and sorted."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import ringfence

PUBLIC = [
    *sorted(
        m.name
        for m in pkgutil.walk_packages(ringfence.__path__, "ringfence.")
        if m.ispkg and not any(part.startswith("_") for part in m.name.split("."))
    ),
    "ringfence",
    "ringfence.exceptions",
]


@pytest.mark.parametrize("name", PUBLIC)
def test_all_is_complete_and_importable(name: str) -> None:
    module = importlib.import_module(name)
    exported = getattr(module, "__all__", None)
    assert exported is not None, f"{name} has no __all__"
    for attr in exported:
        assert hasattr(module, attr), f"{name}.__all__ names missing {attr!r}"
    public = {
        k
        for k, v in vars(module).items()
        if not k.startswith("_") and getattr(v, "__module__", "").startswith(name + ".")
    }
    assert public <= set(exported), (
        f"{name}: public names missing from __all__: {public - set(exported)}"
    )


def test_no_foreign_exception_classes_are_exported() -> None:
    from ringfence import exceptions

    for attr in exceptions.__all__:
        obj = getattr(exceptions, attr)
        if isinstance(obj, type) and issubclass(obj, BaseException):
            assert issubclass(obj, exceptions.RingfenceError)
