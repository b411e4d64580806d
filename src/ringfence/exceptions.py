"""Every exception ringfence raises, in one place, split by who has to act on it.

```
RingfenceError                      base of everything ringfence raises
├── ModelFacingError                its message is safe to show to the model
│   └── CallRefused                 a proposed tool call was denied, needs approval, or errored
├── UserError                       a developer / operator mistake: fix the input and retry
│   ├── PolicyError                 a policy file is malformed; carries file, path and reason
│   ├── TraceError                  a replay trace line is malformed; carries file, line and reason
│   ├── SuiteError                  an eval suite is malformed; carries file, line, case, reason
│   ├── CatalogueError              a red-team goals or catalogue file is malformed (file, line)
│   ├── ConfigError                 bad arguments or configuration passed to the library / CLI
│   ├── UnknownToolError            a call names a tool the gateway does not wrap
│   └── MissingExtraError           an optional extra is needed; the message says what to install
└── RuntimeFailure                  something failed while running; ringfence failed closed
    ├── StoreError                  the SQLite store (audit log, caps, approvals) failed
    ├── AuditIntegrityError         the audit chain does not verify
    ├── CheckError                  a rule or guard errored or timed out (acts as deny)
    ├── UpstreamError               a model endpoint or MCP server behind ringfence failed
    ├── InvalidOutputError          a model's answer failed validation after the allowed re-asks
    ├── ModelError                  a model backend failed (network, HTTP status, malformed reply)
    └── ApprovalError               an approval request is unknown or not in a state for the action
```

Exceptions from third-party libraries are mapped to these at the boundary (``raise ... from exc``),
so callers only ever catch ``RingfenceError`` subclasses.
"""

from __future__ import annotations

from dataclasses import dataclass


class RingfenceError(Exception):
    """Base class of every exception ringfence raises."""


class ModelFacingError(RingfenceError):
    """An error whose message is written for the model: it explains without leaking policy."""


class CallRefused(ModelFacingError):
    """A wrapped tool was called but the gateway did not execute it. ``result`` has the details
    (a :class:`ringfence.gateway.CallResult`); ``str(exc)`` is the message for the model."""

    def __init__(self, message: str, result: object) -> None:
        self.result = result
        super().__init__(message)


class UserError(RingfenceError):
    """The input or the way ringfence was called is wrong; fixing it makes the error go away."""


@dataclass(frozen=True)
class Problem:
    """One problem found in a file: where it is and what is wrong."""

    file: str
    location: str
    reason: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.location}" if self.location else self.file
        return f"{where}: {self.reason}"


class _ProblemsError(UserError):
    """A user error that lists one or more located problems."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class PolicyError(_ProblemsError):
    """A policy file is malformed: unknown keys, bad types, unknown tools, bad expressions."""


class TraceError(_ProblemsError):
    """A replay trace (JSONL) line is malformed."""


class SuiteError(_ProblemsError):
    """An eval suite (YAML or JSONL) is malformed: unknown keys, bad types, duplicate ids."""


class CatalogueError(_ProblemsError):
    """A red-team goals or attack-catalogue file (YAML) is malformed."""


class ConfigError(UserError):
    """Arguments or configuration given to the library or the CLI are invalid."""


class UnknownToolError(UserError):
    """A call names a tool that the gateway does not wrap."""


class MissingExtraError(UserError):
    """An optional dependency is missing; the message names the exact install command."""

    def __init__(self, what: str, extra: str, package: str | None = None) -> None:
        hint = f"pip install 'ringfence[{extra}]'"
        if package:
            hint += f"  (or: pip install {package})"
        super().__init__(f"{what} needs the optional extra '{extra}': {hint}")


class RuntimeFailure(RingfenceError):
    """Something failed at run time; ringfence failed closed (the action did not happen)."""


class StoreError(RuntimeFailure):
    """The store (audit log, cap ledger, approvals) could not be read or written."""


class AuditIntegrityError(RuntimeFailure):
    """The audit log's hash chain does not verify."""

    def __init__(self, message: str, first_bad_seq: int | None) -> None:
        self.first_bad_seq = first_bad_seq
        super().__init__(message)


class CheckError(RuntimeFailure):
    """A rule or guard raised or timed out. Its result is ``error``, which acts as deny."""


class UpstreamError(RuntimeFailure):
    """The service ringfence fronts (a model endpoint, an MCP server) failed or timed out.
    ``kind`` is ``timeout``, ``connect``, ``reset``, ``status`` or ``protocol``."""

    def __init__(self, message: str, kind: str = "protocol", status: int | None = None) -> None:
        self.kind = kind
        self.status = status
        super().__init__(message)


class InvalidOutputError(RuntimeFailure):
    """A model's answer does not validate (JSON schema / pydantic model), even after the re-asks
    allowed; ``errors`` lists why, per attempt."""

    def __init__(self, message: str, errors: list[str]) -> None:
        self.errors = list(errors)
        detail = "; ".join(self.errors[:3])
        super().__init__(f"{message}: {detail}" if detail else message)


class ModelError(RuntimeFailure):
    """A model backend could not produce a reply (unreachable, HTTP error, malformed answer)."""


class ApprovalError(RuntimeFailure):
    """An approval request is unknown, or not in a state that allows the requested action."""


__all__ = [
    "ApprovalError",
    "AuditIntegrityError",
    "CallRefused",
    "CatalogueError",
    "CheckError",
    "ConfigError",
    "InvalidOutputError",
    "MissingExtraError",
    "ModelError",
    "ModelFacingError",
    "PolicyError",
    "Problem",
    "RingfenceError",
    "RuntimeFailure",
    "StoreError",
    "SuiteError",
    "TraceError",
    "UnknownToolError",
    "UpstreamError",
    "UserError",
]
