"""Shared by the AgentDojo tests: skip cleanly when the extra is missing."""

from __future__ import annotations

import pytest

from ringfence.agentdojo import available

INSTALL = "pip install 'ringfence[agentdojo]'"

needs_agentdojo = pytest.mark.skipif(
    not available(), reason=f"needs the agentdojo extra (make test installs it; or {INSTALL})"
)
AGENTDOJO = [pytest.mark.agentdojo, needs_agentdojo]
