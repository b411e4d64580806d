"""The support desk as an :class:`ringfence.agents.Environment` named ``support-desk``."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from pydantic import BaseModel

from ringfence.agents._environment import environment
from ringfence.agents.support_desk._world import SupportDeskSetup, SupportDeskWorld
from ringfence.exceptions import ConfigError
from ringfence.policy import Policy, load_policy

DEFAULT_CUSTOMER = "cust-17"


def policy_path() -> Path:
    """The shipped policy file (package data)."""
    return Path(str(files("ringfence.agents.support_desk").joinpath("policy.yaml")))


def load_shipped_policy() -> Policy:
    """The shipped support-desk policy, loaded and validated."""
    return load_policy(policy_path())


class SupportDeskEnvironment:
    """Builds a fresh :class:`SupportDeskWorld` per run."""

    name = "support-desk"
    setup_model: type[BaseModel] = SupportDeskSetup
    default_principal = DEFAULT_CUSTOMER

    def build(self, setup: BaseModel | None, principal: str) -> SupportDeskWorld:
        if setup is not None and not isinstance(setup, SupportDeskSetup):
            raise ConfigError(f"support-desk: expected a SupportDeskSetup, got {type(setup)}")
        try:
            return SupportDeskWorld(principal, setup)
        except ValueError as exc:
            raise ConfigError(f"support-desk: {exc}") from exc

    def default_policy_path(self) -> Path:
        return policy_path()


@environment("support-desk")
def support_desk_environment() -> SupportDeskEnvironment:
    return SupportDeskEnvironment()
