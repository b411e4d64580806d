"""End to end in a real headless Chromium (Debian's ``chromium``, driven by Playwright):
sign in with a token, open the queue, read the argument provenance, approve and deny."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ringfence.approval import ApprovalQueue, create_app, create_token
from ringfence.gateway import Gateway
from ringfence.policy import Principal

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


def _playwright() -> Any:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("browser test skipped: the 'playwright' package is not installed "
                    "(make test installs it; or pip install 'ringfence[browser]')")  # fmt: skip
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        pytest.skip("browser test skipped: Debian's chromium is not installed "
                    "(make test runs 'apt-get install -y chromium' where apt is usable)")  # fmt: skip
    return sync_playwright


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(queue: ApprovalQueue) -> Iterator[str]:
    import uvicorn

    port = _free_port()
    config = uvicorn.Config(create_app(queue.store), host="127.0.0.1", port=port,
                            log_level="warning", lifespan="off")  # fmt: skip
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert srv.started, "the web server did not start"
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def page(tmp_path: Path) -> Iterator[Any]:
    sync_playwright = _playwright()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context()
        pg = context.new_page()
        dialogs: list[str] = []
        pg.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        pg.dialogs = dialogs
        yield pg
        context.close()
        browser.close()


def _request(gateway: Gateway, order: str) -> str:
    s = gateway.session(Principal("cust-1"), f"s-{order}", agent="agent-7")
    s.add_content(f"Hi! Please cancel my order {order}. <script>alert('x')</script>", source="user")
    return s.call("cancel_order", {"order_id": order}).approval.request_id


def test_approve_and_deny_in_chromium(page, server, gateway, queue, clock, effects, tmp_path):
    clock.now = time.time()
    approve_id, deny_id = _request(gateway, "4821"), _request(gateway, "5532")
    token = create_token(queue.store, queue.audit, "carol", clock())[1]

    page.goto(server + "/")
    assert page.url.endswith("/login")
    page.get_by_test_id("token").fill("rfa_wrong_token")
    page.get_by_test_id("login").click()
    assert "not valid" in page.get_by_test_id("error").inner_text()
    page.get_by_test_id("token").fill(token)
    page.get_by_test_id("login").click()
    assert page.get_by_test_id("user").inner_text() == "carol"
    rows = page.get_by_test_id("pending").locator("tr[data-testid^=row-]")
    assert rows.count() == 2

    page.locator(f"a[href='/requests/{approve_id}']").click()
    origin = page.get_by_test_id("arg-order_id").get_by_test_id("origin").first
    assert origin.locator("mark").inner_text() == "4821"
    assert "user (trusted" in origin.inner_text()
    assert "<script>" in origin.inner_text()  # shown as text, never run
    page.screenshot(path=str(tmp_path / "detail.png"), full_page=True)
    page.get_by_test_id("reason").fill("customer confirmed by phone")
    page.get_by_test_id("approve").click()
    assert "approval was recorded" in page.get_by_test_id("message").inner_text()
    assert page.get_by_test_id("state").first.inner_text() == "approved"
    assert "customer confirmed by phone" in page.get_by_test_id("trail").inner_text()

    page.goto(f"{server}/requests/{deny_id}")
    page.get_by_test_id("deny").click()
    assert "reason for the denial" in page.get_by_test_id("error").inner_text()
    page.get_by_test_id("reason").fill("order already shipped")
    page.get_by_test_id("deny").click()
    assert page.get_by_test_id("state").first.inner_text() == "denied"
    assert page.dialogs == []

    assert queue.get(approve_id).state == "approved"
    assert queue.get(deny_id).state == "denied"
    assert gateway.resume(approve_id).executed
    assert not gateway.resume(deny_id).executed
    assert effects.calls == [("cancel_order", {"order_id": "4821"})]


def test_cross_site_post_is_refused_in_chromium(page, server, gateway, queue, clock, tmp_path):
    clock.now = time.time()
    rid = _request(gateway, "4821")
    token = create_token(queue.store, queue.audit, "carol", clock())[1]
    page.goto(server + "/login")
    page.get_by_test_id("token").fill(token)
    page.get_by_test_id("login").click()
    # a form that posts to the approval endpoint without the CSRF token (what another site
    # could make the signed-in browser send)
    attack = tmp_path / "attack.html"
    attack.write_text(
        f'<form id="f" method="post" action="{server}/requests/{rid}/decide">'
        '<input name="decision" value="approve"></form>'
    )
    page.goto(f"{server}/requests/{rid}")
    page.set_content(attack.read_text())
    with page.expect_navigation():
        page.locator("#f").evaluate("f => f.submit()")
    assert "CSRF" in page.content() or "Sign in" in page.content()
    assert queue.get(rid).state == "pending"
