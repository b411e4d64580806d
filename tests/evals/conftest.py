import pytest

from ringfence.evals import load_suite


@pytest.fixture(scope="session")
def bundled():
    return load_suite("support-desk")
