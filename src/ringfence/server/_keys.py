"""Client API keys mapped to principals and tenants, kept hashed at rest.

A keys file (YAML or JSON)::

    keys:
      - sha256: 9f86d081...          # sha256 hex of the key (ringfence keys new prints it)
        principal: alice
        tenant: acme
        roles: [support]
        attrs: {account: "4821"}
        rate_limit_per_minute: 120   # optional; overrides the policy's proxy.rate_limit_per_minute

A plain ``key: sk-...`` is accepted too (hashed when loaded) but keeps a secret in the file.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ringfence.exceptions import ConfigError, Problem
from ringfence.policy import Principal
from ringfence.policy._model import _Strict
from ringfence.policy._types import PrincipalKind


class KeySpec(_Strict):
    """One client key and the principal it authenticates."""

    sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    """SHA-256 (hex) of the key: the recommended form."""
    key: str | None = Field(default=None, min_length=16)
    """The key itself (discouraged: the file then holds a secret)."""
    principal: str = Field(min_length=1)
    """The principal id the key acts for."""
    kind: PrincipalKind = "user"
    """Principal kind: user, agent, service or operator."""
    tenant: str | None = None
    """The principal's tenant."""
    roles: list[str] = Field(default_factory=list)
    """Roles a policy may refer to (``principal: roles``)."""
    attrs: dict[str, Any] = Field(default_factory=dict)
    """Attributes a policy may refer to (``principal: attrs.NAME``)."""
    rate_limit_per_minute: int | None = Field(default=None, gt=0)
    """Requests per minute for this key (default: the policy's ``proxy.rate_limit_per_minute``)."""

    @model_validator(mode="after")
    def _one_form(self) -> KeySpec:
        if (self.sha256 is None) == (self.key is None):
            raise ValueError("give exactly one of 'sha256' or 'key'")
        return self

    def digest(self) -> str:
        return self.sha256 or hash_key(self.key or "")


class _KeysFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    keys: list[KeySpec] = Field(min_length=1)


@dataclass(frozen=True)
class Client:
    """An authenticated client: its principal and its rate limit (None: the policy's)."""

    principal: Principal
    rate_limit_per_minute: int | None = None


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_key() -> str:
    """A fresh random client key (256 bits)."""
    return "rf-" + secrets.token_urlsafe(32)


class KeyRing:
    """Looks a presented key up by its hash; the keys themselves are never stored."""

    def __init__(self, clients: dict[str, Client]) -> None:
        self._by_hash = dict(clients)

    @classmethod
    def from_specs(cls, specs: list[KeySpec]) -> KeyRing:
        clients: dict[str, Client] = {}
        for spec in specs:
            principal = Principal(
                spec.principal,
                spec.kind,
                spec.tenant,
                frozenset(spec.roles),
                dict(spec.attrs),
            )
            clients[spec.digest()] = Client(principal, spec.rate_limit_per_minute)
        return cls(clients)

    @classmethod
    def load(cls, path: str | Path) -> KeyRing:
        """Read a keys file; errors name the file, the entry and the reason."""
        path = Path(path)
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"{path}: cannot read keys file: {exc}") from exc
        try:
            parsed = _KeysFile.model_validate(data)
        except ValidationError as exc:
            problems = [
                Problem(str(path), ".".join(str(p) for p in err["loc"]), err["msg"])
                for err in exc.errors(include_url=False)
            ]
            raise ConfigError("\n".join(str(p) for p in problems)) from exc
        return cls.from_specs(parsed.keys)

    def authenticate(self, key: str | None) -> Client | None:
        if not key:
            return None
        return self._by_hash.get(hash_key(key))

    def __len__(self) -> int:
        return len(self._by_hash)


def key_entry(key: str, principal: str, tenant: str | None = None) -> str:
    """The keys-file entry (YAML) for ``key``: its hash, never the key."""
    entry: dict[str, Any] = {"sha256": hash_key(key), "principal": principal}
    if tenant:
        entry["tenant"] = tenant
    return "  - " + json.dumps(entry)
