"""Shared fixtures for the red-team tests: small campaigns, run once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from ringfence.redteam import CampaignConfig, CampaignResult, run_campaign


@pytest.fixture(scope="session")
def unguarded(tmp_path_factory: pytest.TempPathFactory) -> tuple[CampaignResult, Path]:
    """The default campaign, small budget, worst-case target without a policy."""
    out = tmp_path_factory.mktemp("rt-none")
    return run_campaign(CampaignConfig(budget=70, policy=None), out), out


@pytest.fixture(scope="session")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> tuple[CampaignResult, Path]:
    """The same campaign with the shipped policy."""
    out = tmp_path_factory.mktemp("rt-shipped")
    config = CampaignConfig(budget=70, policy="shipped", minimise=False)
    return run_campaign(config, out), out
