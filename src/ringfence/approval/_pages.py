"""Server-rendered HTML of the approver web page. Every value is escaped (content the model
saw may be hostile); the page needs no JavaScript, and its CSP allows none."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from html import escape
from typing import Any

from ringfence.approval._provenance import highlight_parts
from ringfence.approval._records import ApprovalRequest, Transition, Vote
from ringfence.audit import AuditRecord

_CSS = """
body{font:15px/1.45 system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1b1f24}
header{background:#1f2937;color:#fff;padding:.6em 1.2em;display:flex;gap:1em;align-items:center}
header a{color:#fff} header form{margin-left:auto} main{padding:1em 1.5em;max-width:1100px}
table{border-collapse:collapse;width:100%;background:#fff;margin:.5em 0 1.2em}
th,td{border:1px solid #d8dde3;padding:.35em .6em;text-align:left;vertical-align:top}
th{background:#eef1f4} mark{background:#ffe066;padding:0 .1em}
.state{padding:.1em .5em;border-radius:.6em;font-size:.85em;background:#ddd}
.pending{background:#fff3bf}.approved,.executed{background:#d3f9d8}
.denied,.expired,.cancelled{background:#ffe3e3}
.untrusted,.unknown,.tainted{color:#b00020;font-weight:600}.trusted{color:#1b7f3b}
pre.src{white-space:pre-wrap;background:#fff;border:1px solid #d8dde3;padding:.5em;margin:.3em 0}
.error{background:#ffe3e3;padding:.6em;border:1px solid #f5a3a3}
.ok{background:#d3f9d8;padding:.6em;border:1px solid #8ce99a}
textarea{width:100%;min-height:4em} button{padding:.4em 1.2em;margin-right:.6em}
"""


def e(value: object) -> str:
    return escape(str(value), quote=True)


def when(ts: float | None) -> str:
    return "-" if ts is None else time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))


def page(title: str, body: str, *, user: str | None = None, csrf: str = "") -> str:
    nav = ""
    if user:
        nav = (
            f'<a href="/">Queue</a><span data-testid="user">{e(user)}</span>'
            f'<form method="post" action="/logout"><input type="hidden" name="csrf" '
            f'value="{e(csrf)}"><button>Sign out</button></form>'
        )
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{e(title)} - '
        f"ringfence approvals</title><style>{_CSS}</style></head><body><header>"
        f"<strong>ringfence approvals</strong>{nav}</header><main>{body}</main></body></html>"
    )


def login_page(error: str = "") -> str:
    err = f'<p class="error" data-testid="error">{e(error)}</p>' if error else ""
    body = (
        f'<h1>Sign in</h1>{err}<form method="post" action="/login">'
        '<label>Approver token <input type="password" name="token" autocomplete="off" '
        'data-testid="token" size="60"></label> <button data-testid="login">Sign in</button>'
        "</form><p>Create a token with <code>ringfence approvals token create --approver "
        "NAME --db FILE</code>.</p>"
    )
    return page("Sign in", body)


def queue_page(
    pending: list[ApprovalRequest], recent: list[ApprovalRequest], user: str, csrf: str
) -> str:
    body = f"<h1>Pending requests ({len(pending)})</h1>{_table(pending, 'pending')}"
    body += f"<h2>Recently decided</h2>{_table(recent, 'recent')}"
    return page("Queue", body, user=user, csrf=csrf)


def _table(reqs: list[ApprovalRequest], testid: str) -> str:
    if not reqs:
        return f'<p data-testid="{testid}-empty">None.</p>'
    rows = "".join(
        f'<tr data-testid="row-{e(r.id)}"><td><a href="/requests/{e(r.id)}">{e(r.id[:12])}</a>'
        f"</td><td>{e(r.tool)}</td><td>{e(r.principal.id)}</td><td>{_state(r.state)}</td>"
        f"<td>{e(', '.join(r.rules))}</td><td>{when(r.created_at)}</td>"
        f"<td>{when(r.expires_at)}</td></tr>"
        for r in reqs
    )
    head = "<tr><th>id</th><th>tool</th><th>for</th><th>state</th><th>rules</th>"
    head += "<th>created</th><th>expires</th></tr>"
    return f'<table data-testid="{testid}">{head}{rows}</table>'


def _state(state: str) -> str:
    return f'<span class="state {e(state)}" data-testid="state">{e(state)}</span>'


def detail_page(
    req: ApprovalRequest,
    votes: list[Vote],
    trail: list[Transition],
    audit: list[AuditRecord],
    *,
    user: str,
    csrf: str,
    message: str = "",
    error: str = "",
    blocked: str | None = None,
) -> str:
    parts = [f"<h1>{e(req.tool)} {_state(req.state)}</h1>"]
    if message:
        parts.append(f'<p class="ok" data-testid="message">{e(message)}</p>')
    if error:
        parts.append(f'<p class="error" data-testid="error">{e(error)}</p>')
    parts += [
        _summary(req, votes),
        "<h2>Arguments and where they came from</h2>",
        _arguments(req),
        "<h2>Risk signals</h2>",
        _risk(req.risk),
    ]
    if req.state == "pending":
        parts.append(_decide_form(req, csrf, blocked))
    parts += ["<h2>Trail</h2>", _trail(trail), "<h2>Audit log</h2>", _audit(audit)]
    return page(f"Request {req.id[:12]}", "".join(parts), user=user, csrf=csrf)


def _summary(req: ApprovalRequest, votes: list[Vote]) -> str:
    roles = " and ".join("one of " + ", ".join(g) for g in req.roles) or "any approver"
    vote_text = "; ".join(f"{v.approver}: {v.decision} ({v.reason})" for v in votes) or "none"
    rows = [
        ("request", req.id),
        ("requested by", f"{req.principal.id} ({req.principal.kind})"),
        ("agent", req.agent or "-"),
        ("session", req.session),
        ("call", req.call_id),
        ("rules", ", ".join(req.rules)),
        ("why", "; ".join(req.reasons)),
        ("needs", roles + (", two different approvers" if req.two_person else "")),
        ("votes", vote_text),
        ("created", when(req.created_at)),
        ("expires", when(req.expires_at)),
        ("decided", when(req.decided_at)),
        ("decision reason", req.reason or "-"),
        ("execution", f"{req.execution or '-'} {req.result or ''}"),
        ("policy", f"{req.policy} ({req.policy_digest[:12]})"),
    ]
    body = "".join(f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in rows)
    return f'<table data-testid="summary">{body}</table>'


def _arguments(req: ApprovalRequest) -> str:
    out = []
    for arg, value in req.args.items():
        prov = req.provenance.get(arg, {"status": "unknown", "leaves": []})
        status = str(prov.get("status", "unknown"))
        out.append(
            f'<section data-testid="arg-{e(arg)}"><h3><code>{e(arg)}</code> = '
            f"<code>{e(json.dumps(value, ensure_ascii=False))}</code> "
            f'<span class="{e(status)}" data-testid="status">{e(status)}</span></h3>'
        )
        out.extend(_leaf(leaf) for leaf in prov.get("leaves", []))
        out.append("</section>")
    return "".join(out) or "<p>No arguments.</p>"


def _leaf(leaf: dict[str, Any]) -> str:
    head = f"<p>value <code>{e(leaf['path'])}</code> = <code>{e(leaf['value'])}</code>: "
    origins = leaf.get("origins", [])
    if not origins:
        why = {"untrackable": "cannot be traced (boolean or null)", "empty": "empty"}.get(
            leaf.get("status", ""), "occurs in no content the model saw (invented or changed)"
        )
        return head + f'<span class="unknown">{e(why)}</span></p>'
    parts = [head + f"found in {len(origins)} place(s)</p>"]
    for origin in origins:
        trust = "trusted" if origin["trusted"] and not origin["tainted"] else "untrusted"
        flags = " FLAGGED: " + "; ".join(origin.get("taint_reasons") or ["tainted"])
        label = (
            f"{origin['source']}"
            + (f" field {origin['field']}" if origin.get("field") else "")
            + f" ({trust}, matched as {origin['match']})"
            + (flags if origin["tainted"] else "")
        )
        text = "".join(
            f"<mark>{e(piece)}</mark>" if lit else e(piece)
            for piece, lit in highlight_parts(origin.get("text", ""), origin.get("spans", []))
        )
        parts.append(
            f'<div data-testid="origin"><span class="{trust}">{e(label)}</span>'
            f'<pre class="src">{text}</pre></div>'
        )
    return "".join(parts)


def _risk(risk: dict[str, Any]) -> str:
    rows = []
    for item in risk.get("tainted_content", []):
        rows.append(
            (
                "flagged content",
                f"{item['item_id']} from {item['source']}: "
                + "; ".join(item.get("reasons") or ["flagged"]),
            )
        )
    for item in risk.get("action_mentioned", []):
        rows.append(
            (
                "action mentioned",
                f"{item['item_id']} from {item['source']} says {item['word']!r}: "
                f"…{item['excerpt']}…",
            )
        )
    for arg, status in risk.get("weak_arguments", {}).items():
        rows.append(("argument origin", f"{arg}: {status}"))
    for cap in risk.get("caps", []):
        usage = "unknown" if cap["usage_after"] is None else f"{cap['usage_after']:g}"
        rows.append(("cap", f"{cap['cap']}: {usage} of {cap['max']:g} after this call"))
    for err in risk.get("errors", []):
        rows.append(("error", err))
    if not rows:
        return '<p data-testid="risk-none">No risk signals.</p>'
    body = "".join(f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in rows)
    return f'<table data-testid="risk">{body}</table>'


def _decide_form(req: ApprovalRequest, csrf: str, blocked: str | None) -> str:
    note = f'<p class="error" data-testid="blocked">{e(blocked)}</p>' if blocked else ""
    return (
        f'<h2>Decision</h2>{note}<form method="post" action="/requests/{e(req.id)}/decide">'
        f'<input type="hidden" name="csrf" value="{e(csrf)}">'
        '<label>Reason<textarea name="reason" data-testid="reason"></textarea></label><p>'
        '<button name="decision" value="approve" data-testid="approve">Approve</button>'
        '<button name="decision" value="deny" data-testid="deny">Deny</button></p></form>'
    )


def _trail(trail: Iterable[Transition]) -> str:
    rows = "".join(
        f"<tr><td>{when(t.ts)}</td><td>{e(t.action)}</td><td>{e(t.actor or '-')}</td>"
        f"<td>{e(t.from_state or '-')} &rarr; {e(t.to_state)}</td><td>{e(t.reason)}</td></tr>"
        for t in trail
    )
    head = "<tr><th>when</th><th>action</th><th>by</th><th>state</th><th>reason</th></tr>"
    return f'<table data-testid="trail">{head}{rows}</table>'


def _audit(records: Iterable[AuditRecord]) -> str:
    rows = "".join(
        f"<tr><td>{r.seq}</td><td>{when(r.ts)}</td><td>{e(r.kind)}</td>"
        f"<td><code>{e(_short(r.payload))}</code></td></tr>"
        for r in records
    )
    head = "<tr><th>seq</th><th>when</th><th>kind</th><th>payload</th></tr>"
    return f'<table data-testid="audit">{head}{rows}</table>'


def _short(payload: dict[str, Any]) -> str:
    text = json.dumps(payload, ensure_ascii=False, sort_keys=True, default=str)
    return text if len(text) <= 400 else text[:397] + "..."
