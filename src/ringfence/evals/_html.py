"""The self-contained HTML report: headline numbers, charts (inline SVG), the per-case diff
against a baseline, and every case with its checks, tool calls and answer."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from html import escape
from typing import Any

from ringfence.evals._baseline import diff_runs
from ringfence.evals._metrics import LOWER_IS_BETTER
from ringfence.evals._svg import (
    OUTCOME_COLOURS,
    STATUS_COLOURS,
    Bar,
    Cell,
    TagRow,
    case_grid,
    metric_bars,
    stacked_outcomes,
    tag_chart,
)

Doc = Mapping[str, Any]

_LABELS = {
    "asr": "attack success rate",
    "false_refusal_rate": "false-refusal rate",
    "utility": "utility",
    "utility_under_attack": "utility under attack",
    "approval_rate": "approvals requested",
    "error_rate": "errors",
    "unscorable_rate": "unscorable",
}
_COLOURS = {"asr": "#e03131", "false_refusal_rate": "#f08c00", "utility": "#2f9e44",
            "utility_under_attack": "#66a80f", "approval_rate": "#1c7ed6",
            "error_rate": "#ae3ec9", "unscorable_rate": "#868e96"}  # fmt: skip
_STATUS_TEXT = {"ok": "as it should", "attack": "attack succeeded",
                "false-refusal": "refused / blocked", "task-failed": "task failed",
                "error": "error / unscorable"}  # fmt: skip

_CSS = """
body{font-family:system-ui,sans-serif;margin:0;color:#212529;background:#f8f9fa}
main{max-width:1080px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}
.meta{color:#495057;font-size:13px}
.cards{display:flex;gap:12px;flex-wrap:wrap;margin-top:16px}
.card{background:#fff;border-radius:8px;padding:12px 16px;min-width:200px;flex:1;
box-shadow:0 1px 2px #0002}.card .v{font-size:28px;font-weight:650}
.card .ci,.card .n{font-size:12px;color:#495057}.card .d{font-size:13px;font-weight:600}
.good{color:#2f9e44}.bad{color:#e03131}
section{background:#fff;border-radius:8px;padding:12px 16px;margin-top:12px;
box-shadow:0 1px 2px #0002}
table{border-collapse:collapse;width:100%;font-size:13px}
td,th{padding:4px 6px;border-bottom:1px solid #e9ecef;text-align:left;vertical-align:top}
.pill{display:inline-block;border-radius:9px;padding:0 7px;color:#fff;font-size:12px}
.tag{display:inline-block;background:#e9ecef;border-radius:4px;padding:0 4px;margin:1px;
font-size:11px}
details summary{cursor:pointer}
pre{white-space:pre-wrap;background:#f1f3f5;padding:6px;border-radius:4px;font-size:12px}
.legend span{display:inline-block;margin-right:14px;font-size:12px}
.legend i{display:inline-block;width:10px;height:10px;margin-right:4px}
.gate{font-weight:600}button{margin-right:6px}
"""
_JS = """
function show(k){document.querySelectorAll('tr.case').forEach(function(r){
r.style.display=(k==='all'||r.dataset.cat===k||(k==='bad'&&r.dataset.status!=='ok'))?'':'none';});}
"""


def status(row: Mapping[str, Any]) -> str:
    """How a case went, for colouring: ok, attack, false-refusal, task-failed, error."""
    if row["outcome"] in ("error", "unscorable"):
        return "error"
    if row["category"] == "attack":
        return "attack" if row["outcome"] == "complied" else "ok"
    if row.get("task_success"):
        return "ok"
    return "false-refusal" if row["outcome"] in ("refused", "blocked") else "task-failed"


def render_html(doc: Doc, baseline: Doc | None = None) -> str:
    title = f"ringfence eval: {doc['suite']['name']} on {doc['target']}"
    body = [_header(doc, baseline), _gates(doc), _cards(doc, baseline), _charts(doc, baseline),
            _grid(doc, baseline), _tags(doc, baseline), _cases(doc)]  # fmt: skip
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{escape(title)}"
            f"</title><style>{_CSS}</style><script>{_JS}</script></head><body><main>"
            + "".join(body) + "</main></body></html>\n")  # fmt: skip


def _policy_name(doc: Doc) -> str:
    policy = doc.get("policy")
    return f"policy {policy['name']} ({policy['digest'][:12]})" if policy else "no policy"


def _header(doc: Doc, baseline: Doc | None) -> str:
    suite = doc["suite"]
    meta = (f"suite {escape(suite['name'])} ({suite['cases']} cases, "
            f"{escape(suite['digest'][:12])}) &middot; target <b>{escape(doc['target'])}</b>"
            f" &middot; {escape(_policy_name(doc))}"
            f" &middot; {doc['epochs']} epoch(s) &middot; {escape(doc['started'])} &middot; "
            f"{doc['duration_s']:.1f} s")  # fmt: skip
    if baseline is not None:
        meta += (f"<br>baseline: target {escape(baseline['target'])}, "
                 f"{escape(_policy_name(baseline))}, {escape(baseline['started'])}")  # fmt: skip
    return f"<h1>ringfence eval: {escape(suite['name'])}</h1><div class='meta'>{meta}</div>"


def _gates(doc: Doc) -> str:
    gates = doc.get("gates") or []
    if not gates:
        return ""
    items = "".join(
        f"<li class='gate {'good' if g['passed'] else 'bad'}'>{'PASS' if g['passed'] else 'FAIL'} "
        f"{escape(g['name'])}: {escape(g['message'])}</li>"
        for g in gates
    )
    return f"<section><h2>Gates</h2><ul>{items}</ul></section>"


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def _cards(doc: Doc, baseline: Doc | None) -> str:
    cards = []
    for name in ("asr", "false_refusal_rate", "utility", "utility_under_attack"):
        m = doc["metrics"].get(name) or {}
        delta = ""
        if baseline is not None:
            b = (baseline["metrics"].get(name) or {}).get("value")
            if b is not None and m.get("value") is not None:
                d = m["value"] - b
                better = d < 0 if name in LOWER_IS_BETTER else d > 0
                cls = "good" if better else "bad" if d else ""
                delta = (f"<div class='d {cls}'>{'+' if d >= 0 else ''}{100 * d:.1f} points vs "
                         f"baseline ({_fmt(b)})</div>")  # fmt: skip
        cards.append(
            f"<div class='card'><div>{_LABELS[name]}</div><div class='v'>{_fmt(m.get('value'))}"
            f"</div>{delta}<div class='ci'>95% CI {_fmt(m.get('ci_low'))} - "
            f"{_fmt(m.get('ci_high'))}</div><div class='n'>n = {m.get('n', 0)}</div></div>"
        )
    return f"<div class='cards'>{''.join(cards)}</div>"


def _charts(doc: Doc, baseline: Doc | None) -> str:
    bars = []
    for name, label in _LABELS.items():
        m = doc["metrics"].get(name)
        if not m:
            continue
        b = (baseline["metrics"].get(name) or {}).get("value") if baseline else None
        bars.append(Bar(label, m["value"], m["ci_low"], m["ci_high"], m["n"], _COLOURS[name], b))
    groups = {cat: Counter(r["outcome"] for r in doc["cases"] if r["category"] == cat)
              for cat in ("normal", "edge", "attack")}  # fmt: skip
    legend = "" if baseline is None else "<p class='meta'>dashed tick: the baseline's value</p>"
    return (f"<section><h2>Metrics with 95% confidence intervals</h2>{metric_bars(bars)}{legend}"
            f"</section><section><h2>Outcomes by category</h2>"
            f"{stacked_outcomes({k: v for k, v in groups.items() if v})}</section>")  # fmt: skip


def _grid(doc: Doc, baseline: Doc | None) -> str:
    before = {r["id"]: r for r in baseline["cases"]} if baseline else {}
    cells = []
    for row in doc["cases"]:
        old = before.get(row["id"])
        title = f"{row['id']} ({row['category']}): {row['outcome']}"
        if old is not None:
            title += f" (baseline: {old['outcome']})"
        cells.append(Cell(row["id"], status(row), status(old) if old else None, title))
    legend = "".join(f"<span><i style='background:{c}'></i>{_STATUS_TEXT[k]}</span>"
                     for k, c in STATUS_COLOURS.items())  # fmt: skip
    note = ("<p class='meta'>Upper half: baseline; lower half: this run; outlined: changed.</p>"
            if baseline else "")  # fmt: skip
    return (f"<section><h2>Every case{' vs baseline' if baseline else ''}</h2>"
            f"<div class='legend'>{legend}</div>{case_grid(cells)}{note}{_changes(doc, baseline)}"
            "</section>")  # fmt: skip


def _changes(doc: Doc, baseline: Doc | None) -> str:
    if baseline is None:
        return ""
    diff = diff_runs(doc, baseline)
    changed = [c for c in diff.cases if c.change != "same"]
    summary = ", ".join(f"{diff.count(k)} {k}" for k in ("regressed", "improved", "changed"))
    if not changed:
        return f"<p>No case changed ({summary}).</p>"
    rows = "".join(
        f"<tr><td>{escape(c.id)}</td><td>{c.category}</td><td>{c.before}</td><td>{c.after}</td>"
        f"<td class='{_CHANGE_CLASS.get(c.change, '')}'>{c.change}</td></tr>"
        for c in changed
    )
    return (f"<details><summary>{len(changed)} case(s) differ from the baseline: {summary}"
            f"</summary><table><tr><th>case</th><th>category</th><th>baseline</th><th>now</th>"
            f"<th>change</th></tr>{rows}</table></details>")  # fmt: skip


_CHANGE_CLASS = {"regressed": "bad", "improved": "good"}


def _tag_order(tag: str) -> tuple[int, str]:
    if tag[:3] in ("LLM", "ASI"):
        return 0, tag
    return (1 if tag.startswith("channel:") else 2), tag


def _tags(doc: Doc, baseline: Doc | None) -> str:
    rows = []
    for tag in sorted(doc.get("by_tag", {}), key=_tag_order):
        m = doc["by_tag"][tag]
        asr, util = m.get("asr"), m.get("utility")
        b = ((baseline or {}).get("by_tag", {}).get(tag, {}).get("asr") or {}).get("value")
        rows.append(TagRow(tag, asr and asr["value"], asr["n"] if asr else 0,
                           util and util["value"], util["n"] if util else 0, b))  # fmt: skip
    if not rows:
        return ""
    return f"<section><h2>By tag</h2>{tag_chart(rows)}</section>"


def _cases(doc: Doc) -> str:
    filters = (("all", "all"), ("normal", "normal"), ("edge", "edge"), ("attack", "attack"),
               ("bad", "not as it should"))  # fmt: skip
    buttons = "".join(f"<button onclick=\"show('{k}')\">{label}</button>" for k, label in filters)
    rows = "".join(_case_row(r) for r in doc["cases"])
    return (f"<section><h2>Cases</h2>{buttons}<table><tr><th>case</th><th>outcome</th>"
            f"<th>details</th></tr>{rows}</table></section>")  # fmt: skip


def _case_row(row: Mapping[str, Any]) -> str:
    st = status(row)
    colour = OUTCOME_COLOURS.get(row["outcome"], "#adb5bd")
    tags = "".join(f"<span class='tag'>{escape(t)}</span>" for t in row.get("tags", []))
    checks = "".join(
        f"<li class='{'good' if c['ok'] else 'bad'}'>[{c['block']}] {escape(c['detail'])}</li>"
        for c in row.get("checks", [])
    )
    calls = "".join(
        f"<li>{escape(c['tool'])}({escape(json.dumps(c['args'], ensure_ascii=False))}) &rarr; "
        f"<b>{escape(c['decision'])}</b>{' ' + escape(', '.join(c['rules'])) if c['rules'] else ''}"
        f"</li>"
        for c in row.get("calls", [])
    )
    turns = "".join(f"<pre>{escape(t)}</pre>" for t in row.get("turns", []))
    flaky = " <b class='bad'>flaky</b>" if row.get("flaky") else ""
    return (
        f"<tr class='case' data-cat='{row['category']}' data-status='{st}'>"
        f"<td><b>{escape(row['id'])}</b><br>{row['category']} {tags}</td>"
        f"<td><span class='pill' style='background:{colour}'>{row['outcome']}</span>"
        f"<br><span style='color:{STATUS_COLOURS[st]}'>{_STATUS_TEXT[st]}</span>{flaky}</td>"
        f"<td><details><summary>{escape(row.get('description') or row.get('reason') or 'details')}"
        f"</summary><b>user</b>{turns}<b>tool calls</b><ul>{calls or '<li>none</li>'}</ul>"
        f"<b>checks</b><ul>{checks}</ul><b>answer</b><pre>{escape(row.get('output', ''))}</pre>"
        f"</details></td></tr>"
    )
