"""Policy packs for AgentDojo's suites: the shipped ``default`` packs, ``none``, or your own.

A pack is an ordinary ringfence policy file per suite (``packs/<suite>.yaml``). ``none`` allows
every tool of the suite and runs no guards: every call still goes through the gateway (and is
audited), nothing is refused, which shows that the harness's attacks work.
"""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path

from ringfence.exceptions import ConfigError
from ringfence.policy import Policy, load_policy, policy_from_yaml

PACKS_PACKAGE = "ringfence.agentdojo"


def pack_path(suite_name: str) -> Path:
    """The shipped default pack of a suite."""
    found = resources.files(PACKS_PACKAGE) / "packs" / f"{suite_name}.yaml"
    path = Path(str(found))
    if not path.is_file():
        raise ConfigError(f"no default policy pack for suite {suite_name!r}")
    return path


def allow_all(suite_name: str, tools: list[str]) -> Policy:
    """The ``none`` pack: every tool of the suite allowed, no guards, no approvers."""
    lines = [
        "version: 1",
        f"name: agentdojo-{suite_name}-none",
        "description: every tool allowed, no guards (the undefended baseline)",
        "tools:",
        *(f"  {tool}: {{effect: allow}}" for tool in sorted(tools)),
    ]
    return policy_from_yaml("\n".join(lines) + "\n", source=f"<none pack for {suite_name}>")


@functools.cache
def _default(suite_name: str) -> Policy:
    return load_policy(pack_path(suite_name))


def load_pack(pack: str, suite_name: str, tools: list[str]) -> Policy:
    """The policy for one suite: ``default`` (shipped), ``none`` (allow all), or a directory
    holding ``<suite>.yaml`` files. Tools the suite has and the policy does not list are denied,
    as always; a policy naming a tool the suite lacks is an error (a typo would never apply)."""
    if pack == "none":
        return allow_all(suite_name, tools)
    if pack == "default":
        policy = _default(suite_name)
    else:
        folder = Path(pack)
        if not folder.is_dir():
            raise ConfigError(f"policy pack {pack!r}: use 'default', 'none' or a directory")
        policy = load_policy(folder / f"{suite_name}.yaml")
    unknown = sorted(set(policy.tools) - set(tools))
    if unknown:
        raise ConfigError(
            f"policy {policy.name!r} ({policy.source}) names tools the {suite_name} suite does "
            f"not have: {', '.join(unknown)}"
        )
    return policy
