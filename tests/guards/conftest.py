"""Fixtures for the guards tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from guard_helpers import FakeDetector

from ringfence.guards import _injection


@pytest.fixture
def fake_detector() -> Iterator[FakeDetector]:
    """Installs a scripted detector as the shared default one (what policies get)."""
    detector = FakeDetector()
    saved = dict(_injection._DETECTORS)
    _injection._DETECTORS[""] = detector
    yield detector
    _injection._DETECTORS.clear()
    _injection._DETECTORS.update(saved)
