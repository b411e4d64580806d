"""What ``ringfence serve`` and ``ringfence mcp-gateway`` run on: one store, its approval queue
and staging area, the guard pipelines, and the gateway that ties them together."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ringfence.approval import ApprovalQueue, StagingArea
from ringfence.gateway import Gateway
from ringfence.guards import GuardPipeline, build_pipeline
from ringfence.policy import Policy, ResourceResolver
from ringfence.store import SqliteStore

GUARD_CACHE_SIZE = 4096
"""Verdicts of pure ``input`` / ``untrusted`` guards kept for identical texts: a proxy sees the
whole conversation on every request (``ringfence.guards._cache``)."""


@dataclass
class Serving:
    """The gateway of a serving process and the parts it owns (closed together)."""

    store: SqliteStore
    approvals: ApprovalQueue
    staging: StagingArea
    guards: GuardPipeline
    gateway: Gateway

    def close(self) -> None:
        self.gateway.close()
        self.guards.close()
        self.approvals.close()
        self.store.close()

    def __enter__(self) -> Serving:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_serving(
    policy: Policy,
    db: str | Path,
    *,
    approval_wait: float = 0.0,
    resolver: ResourceResolver | None = None,
) -> Serving:
    """The gateway for the proxy or the MCP gateway.

    Guards: the policy's ``guards:`` section, or the default pipelines (with the injection
    detector) when it has none, with a verdict cache of ``GUARD_CACHE_SIZE`` entries; a
    pipeline that cannot be built raises :class:`ConfigError` and the server does not start.
    Approvals: an :class:`ApprovalQueue` on the same store (``approval_wait`` seconds of
    blocking wait, 0: none). Staging: a :class:`StagingArea` on
    the same store, so ``stage: true`` tools are recorded as staged changes. ``resolver``:
    ownership look-ups for the policy's ownership checks.
    """
    guards = build_pipeline(policy, cache_size=GUARD_CACHE_SIZE)
    store = SqliteStore(db)
    try:
        queue = ApprovalQueue(store, policy=policy, wait_s=approval_wait or None)
        staging = StagingArea(store, audit=queue.audit)
        gateway = Gateway(
            policy,
            store=store,
            audit=queue.audit,
            resolver=resolver,
            require_registered=False,
            approvals=queue,
            staging=staging,
            guards=guards,
        )
    except BaseException:
        guards.close()
        store.close()
        raise
    return Serving(store, queue, staging, guards, gateway)
