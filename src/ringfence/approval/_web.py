"""The approver web page and JSON API (Starlette), served by ``ringfence ui``.

Authentication: an approver token (``ringfence approvals token create``), checked against its
hash in the store. The page signs a session cookie (HttpOnly, SameSite=Strict) that names the
token, so revoking the token ends the session. Every state-changing form carries a CSRF token
bound to the session and is refused (403) without it or from another origin. The JSON API
takes ``Authorization: Bearer TOKEN`` instead (no ambient credentials, so no CSRF).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from ringfence.approval import _pages as pages
from ringfence.approval._approvers import Approver, load_approver, verify_token
from ringfence.approval._queue import ApprovalQueue
from ringfence.approval._records import VoteDecision
from ringfence.audit import AuditRecord, read_records
from ringfence.exceptions import ApprovalError, RingfenceError
from ringfence.store import SqliteStore

COOKIE = "rf_session"
SESSION_S = 8 * 3600.0
_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
_DONE = {"approve": "Your approval was recorded.", "deny": "Your denial was recorded."}


@dataclass(frozen=True)
class _Login:
    approver: Approver
    cookie: str
    csrf: str


class _Web:
    def __init__(
        self, queue: ApprovalQueue, secret: bytes, secure: bool, clock: Callable[[], float]
    ) -> None:
        self.queue, self.secret, self.secure, self.clock = queue, secret, secure, clock

    # --- sessions --------------------------------------------------------------------------

    def _sign(self, data: str) -> str:
        return hmac.new(self.secret, data.encode(), hashlib.sha256).hexdigest()

    def new_cookie(self, approver: str, token_id: str) -> str:
        body = json.dumps([approver, token_id, self.clock() + SESSION_S, secrets.token_hex(8)])
        raw = base64.urlsafe_b64encode(body.encode()).decode()
        return f"{raw}.{self._sign(raw)}"

    def login(self, request: Request) -> _Login | None:
        cookie = request.cookies.get(COOKIE, "")
        raw, _, sig = cookie.partition(".")
        if not raw or not hmac.compare_digest(sig, self._sign(raw)):
            return None
        try:
            name, token_id, expires, _nonce = json.loads(base64.urlsafe_b64decode(raw))
        except ValueError:
            return None
        if float(expires) <= self.clock() or not self._token_live(str(token_id), str(name)):
            return None
        with self.queue.store.read() as conn:
            approver = load_approver(conn, str(name))
        if approver is None or not approver.active:
            return None
        return _Login(approver, cookie, self._sign("csrf:" + cookie)[:40])

    def _token_live(self, token_id: str, name: str) -> bool:
        with self.queue.store.read() as conn:
            row = conn.execute(
                "SELECT approver, expires_at, revoked_at FROM approver_tokens WHERE id = ?",
                (token_id,),
            ).fetchone()
        return bool(
            row and row[0] == name and row[2] is None and (row[1] is None or row[1] > self.clock())
        )

    def csrf_ok(self, request: Request, login: _Login, form: dict[str, str]) -> bool:
        origin = request.headers.get("origin")
        if origin and origin != "null" and urlsplit(origin).netloc != request.url.netloc:
            return False
        return hmac.compare_digest(form.get("csrf", ""), login.csrf)

    def bearer(self, request: Request) -> Approver | None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return None
        return verify_token(self.queue.store, token.strip(), self.clock())


async def _form(request: Request) -> dict[str, str]:
    body = (await request.body())[:65536].decode("utf-8", errors="replace")
    return {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}


def _html(text: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(text, status_code=status, headers=_HEADERS)


def _see(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers=_HEADERS)


def create_app(
    store: SqliteStore | str | Path,
    *,
    secret: bytes | None = None,
    secure_cookies: bool = False,
    clock: Callable[[], float] = time.time,
) -> Starlette:
    """The approver web app over a store. ``secret`` signs session cookies (default:
    ``RINGFENCE_UI_SECRET`` or a random one, so sessions end when the server restarts)."""
    env = os.environ.get("RINGFENCE_UI_SECRET")
    key = secret or (env.encode() if env else secrets.token_bytes(32))
    web = _Web(ApprovalQueue(store, clock=clock), key, secure_cookies, clock)
    routes = [
        Route("/login", _login_get(web), methods=["GET"]),
        Route("/login", _login_post(web), methods=["POST"]),
        Route("/logout", _logout(web), methods=["POST"]),
        Route("/", _queue_page(web), methods=["GET"]),
        Route("/requests/{rid}", _detail(web), methods=["GET"]),
        Route("/requests/{rid}/decide", _decide(web), methods=["POST"]),
        Route("/api/requests", _api_list(web), methods=["GET"]),
        Route("/api/requests/{rid}", _api_get(web), methods=["GET"]),
        Route("/api/requests/{rid}/{decision}", _api_decide(web), methods=["POST"]),
        Route("/healthz", _health, methods=["GET"]),
    ]
    app = Starlette(routes=routes)
    app.state.queue = web.queue
    return app


Endpoint = Callable[[Request], Any]


async def _health(request: Request) -> Response:
    return JSONResponse({"ok": True})


def _login_get(web: _Web) -> Endpoint:
    async def endpoint(request: Request) -> Response:
        return _html(pages.login_page())

    return endpoint


def _login_post(web: _Web) -> Endpoint:
    async def endpoint(request: Request) -> Response:
        token = (await _form(request)).get("token", "").strip()
        approver = verify_token(web.queue.store, token, web.clock()) if token else None
        if approver is None:
            return _html(pages.login_page("That token is not valid."), 401)
        token_id = token.removeprefix("rfa_").partition("_")[0]
        response = _see("/")
        response.set_cookie(
            COOKIE,
            web.new_cookie(approver.name, token_id),
            max_age=int(SESSION_S),
            httponly=True,
            samesite="strict",
            secure=web.secure,
        )
        return response

    return endpoint


def _logout(web: _Web) -> Endpoint:
    async def endpoint(request: Request) -> Response:
        login = web.login(request)
        if login is not None and not web.csrf_ok(request, login, await _form(request)):
            return _html(pages.page("Refused", "<p>Missing or wrong CSRF token.</p>"), 403)
        response = _see("/login")
        response.delete_cookie(COOKIE)
        return response

    return endpoint


def _queue_page(web: _Web) -> Endpoint:
    async def endpoint(request: Request) -> Response:
        login = web.login(request)
        if login is None:
            return _see("/login")
        web.queue.expire_due()
        pending = web.queue.list_requests(states=["pending"], limit=200)
        recent = web.queue.list_requests(
            states=["approved", "denied", "expired", "cancelled", "executed"], limit=30
        )
        return _html(pages.queue_page(pending, recent, login.approver.name, login.csrf))

    return endpoint


def _audit_of(web: _Web, session: str, call_id: str, request_id: str) -> list[AuditRecord]:
    records = read_records(web.queue.store, session=session)
    return [
        r
        for r in records
        if r.payload.get("call_id") == call_id or r.payload.get("request_id") == request_id
    ]


def _render_detail(
    web: _Web, login: _Login, rid: str, *, message: str = "", error: str = "", status: int = 200
) -> Response:
    web.queue.expire_due(ids=[rid])
    try:
        req = web.queue.get(rid)
    except ApprovalError:
        return _html(pages.page("Not found", "<p>No such request.</p>"), 404)
    me = login.approver
    blocked = None
    if me.name in (req.principal.id, req.agent):
        blocked = "You made this request; someone else has to decide it."
    elif not me.satisfies(req.roles):
        blocked = "You do not hold a role this request needs; you can deny it but not approve it."
    text = pages.detail_page(
        req,
        web.queue.votes(rid),
        web.queue.transitions(rid),
        _audit_of(web, req.session, req.call_id, req.id),
        user=me.name,
        csrf=login.csrf,
        message=message,
        error=error,
        blocked=blocked,
    )
    return _html(text, status)


def _detail(web: _Web) -> Endpoint:
    async def endpoint(request: Request) -> Response:
        login = web.login(request)
        if login is None:
            return _see("/login")
        done = request.query_params.get("done", "")
        return _render_detail(web, login, request.path_params["rid"], message=_DONE.get(done, ""))

    return endpoint


def _decide(web: _Web) -> Endpoint:
    async def endpoint(request: Request) -> Response:
        login = web.login(request)
        if login is None:
            return _html(pages.page("Refused", "<p>Sign in first.</p>"), 403)
        form = await _form(request)
        if not web.csrf_ok(request, login, form):
            return _html(pages.page("Refused", "<p>Missing or wrong CSRF token.</p>"), 403)
        rid, decision = request.path_params["rid"], form.get("decision", "")
        reason = form.get("reason", "").strip()[:2000]
        error = _check_decision(decision, reason)
        if error is None:
            try:
                web.queue.decide(rid, login.approver.name, _vote(decision), reason)
            except RingfenceError as exc:
                error = str(exc)
        if error is not None:
            return _render_detail(web, login, rid, error=error, status=409)
        return _see(f"/requests/{rid}?done={decision}")

    return endpoint


def _check_decision(decision: str, reason: str) -> str | None:
    if decision not in ("approve", "deny"):
        return "Choose approve or deny."
    if decision == "deny" and not reason:
        return "Give a reason for the denial."
    return None


def _vote(decision: str) -> VoteDecision:
    return "approve" if decision == "approve" else "deny"


def _api_list(web: _Web) -> Endpoint:
    async def endpoint(request: Request) -> Response:
        if web.bearer(request) is None:
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        web.queue.expire_due()
        states = [s for s in request.query_params.get("state", "pending").split(",") if s]
        reqs = web.queue.list_requests(states=[] if states == ["all"] else states)
        return JSONResponse([r.to_dict() for r in reqs])

    return endpoint


def _api_get(web: _Web) -> Endpoint:
    async def endpoint(request: Request) -> Response:
        if web.bearer(request) is None:
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        rid = request.path_params["rid"]
        web.queue.expire_due(ids=[rid])
        try:
            return JSONResponse(web.queue.get(rid).to_dict())
        except ApprovalError as exc:
            return JSONResponse({"error": str(exc)}, status_code=404)

    return endpoint


def _api_decide(web: _Web) -> Endpoint:
    async def endpoint(request: Request) -> Response:
        approver = web.bearer(request)
        if approver is None:
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        decision = request.path_params["decision"]
        try:
            body = json.loads((await request.body()) or b"{}")
        except ValueError:
            return JSONResponse({"error": "the body must be JSON"}, status_code=400)
        reason = str(body.get("reason", "")) if isinstance(body, dict) else ""
        error = _check_decision(decision, reason.strip())
        if error is not None:
            return JSONResponse({"error": error}, status_code=400)
        try:
            req = web.queue.decide(
                request.path_params["rid"], approver.name, _vote(decision), reason.strip()
            )
        except RingfenceError as exc:
            return JSONResponse({"error": str(exc)}, status_code=409)
        return JSONResponse(req.to_dict())

    return endpoint
