import importlib

import pytest


@pytest.mark.parametrize(
    "module", ["ringfence.agents", "ringfence.agents.support_desk", "ringfence.evals"]
)
def test_all_is_complete_and_importable(module):
    mod = importlib.import_module(module)
    public = {n for n in dir(mod) if not n.startswith("_")}
    submodules = {n for n in public if type(getattr(mod, n)).__name__ == "module"}
    assert set(mod.__all__) == public - submodules
    for name in mod.__all__:
        assert getattr(mod, name) is not None
