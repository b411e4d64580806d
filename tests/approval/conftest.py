"""Fixtures for the approval tests: a policy with approvers, a fake clock, a store on disk."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from approval_helpers import POLICY, Clock, Effects

from ringfence.approval import ApprovalQueue, StagingArea
from ringfence.gateway import Gateway
from ringfence.policy import Policy, Principal, policy_from_yaml
from ringfence.store import SqliteStore


@pytest.fixture
def policy() -> Policy:
    return policy_from_yaml(POLICY)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "ringfence.db"


@pytest.fixture
def store(db: Path) -> Iterator[SqliteStore]:
    with SqliteStore(db) as s:
        yield s


@pytest.fixture
def effects() -> Effects:
    return Effects()


@pytest.fixture
def queue(store: SqliteStore, policy: Policy, clock: Clock) -> Iterator[ApprovalQueue]:
    q = ApprovalQueue(store, policy=policy, clock=clock)
    yield q
    q.close()


@pytest.fixture
def gateway(
    store: SqliteStore, policy: Policy, queue: ApprovalQueue, clock: Clock, effects: Effects
) -> Iterator[Gateway]:
    staging = StagingArea(store, clock=clock)
    gw = Gateway(policy, store=store, approvals=queue, staging=staging, clock=clock)
    effects.add_tools(gw)
    yield gw
    gw.close()
    staging.close()


@pytest.fixture
def customer() -> Principal:
    return Principal("cust-1", kind="user")
