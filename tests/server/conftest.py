"""Fixtures: a mock upstream and the proxy on loopback, each on its own thread and event loop."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from proxy_helpers import KEY, OTHER_KEY, PATTERNS, POLICY, make_gateway

from ringfence.gateway import Gateway
from ringfence.policy import StaticResolver, policy_from_yaml
from ringfence.server import (
    ContentChecker,
    KeyRing,
    KeySpec,
    MockScript,
    MockUpstream,
    PatternChecker,
    ProxyConfig,
    Serving,
    build_app,
    hash_key,
    open_serving,
)
from ringfence.server._running import serve_in_thread


@dataclass
class Stack:
    url: str
    upstream: str
    mock: MockUpstream
    gateway: Gateway

    def client(self, key: str = KEY, **kwargs: Any) -> Any:
        import openai

        return openai.OpenAI(base_url=self.url + "/v1", api_key=key, max_retries=0, **kwargs)

    def records(self, kind: str | None = None) -> list[Any]:
        self.gateway.audit.flush()
        return [r for r in self.gateway.audit.records() if kind is None or r.kind == kind]


@pytest.fixture(scope="session", autouse=True)
def _no_full_collections_of_earlier_tests() -> Iterator[None]:
    """The servers here run on threads of the test process, and a request through them must
    finish within the proxy's upstream timeout. In the full suite the heap that earlier tests
    leave behind makes a full garbage collection stop every thread for ~0.4 s of CPU (measured;
    several times that in wall-clock time on a loaded machine), enough to turn a healthy upstream
    request into a spurious timeout. Freezing what exists now keeps later collections to the
    objects these tests create; nothing a test checks changes."""
    gc.collect()
    gc.freeze()
    yield
    gc.unfreeze()


@pytest.fixture
def stack_factory(tmp_path: Path) -> Iterator[Callable[..., Stack]]:
    opened: list[Any] = []

    def make(
        policy_text: str = POLICY,
        script: MockScript | None = None,
        checker: ContentChecker | None = None,
        keys: bool = True,
        approvals: Any = None,
        approval_wait: float = 0.0,
    ) -> Stack:
        """``approvals="serving"``: the gateway ``ringfence serve`` builds (``open_serving``:
        the policy's or the default guards, approval queue, staging area)."""
        mock = MockUpstream(script or MockScript())
        mock_cm = mock.run_in_thread()
        upstream = mock_cm.__enter__()
        opened.append(mock_cm)
        db = tmp_path / f"audit{len(opened)}.db"
        if approvals == "serving":
            serving = open_serving(
                policy_from_yaml(policy_text),
                db,
                approval_wait=approval_wait,
                resolver=StaticResolver(),
            )
            opened.append(serving)
            gateway = serving.gateway
        else:
            gateway = make_gateway(policy_text, db, approvals)
        ring = (
            KeyRing.from_specs(
                [
                    KeySpec(sha256=hash_key(KEY), principal="alice", tenant="acme"),
                    KeySpec(sha256=hash_key(OTHER_KEY), principal="bob", rate_limit_per_minute=2),
                ]
            )
            if keys
            else None
        )
        config = ProxyConfig(
            gateway=gateway,
            upstream=upstream,
            keys=ring,
            checker=checker or PatternChecker(PATTERNS),
            approvals=gateway.approvals if approvals else None,
        )
        proxy_cm = serve_in_thread(build_app(config))
        url = proxy_cm.__enter__()
        opened.append(proxy_cm)
        if approvals != "serving":
            opened.append(gateway)
        return Stack(url, upstream, mock, gateway)

    yield make
    for item in reversed(opened):
        if isinstance(item, Gateway | Serving):
            item.close()
        else:
            item.__exit__(None, None, None)


@pytest.fixture
def stack(stack_factory: Callable[..., Stack]) -> Stack:
    return stack_factory()
