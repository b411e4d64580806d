"""Campaign reports: JSON (success rates with Wilson 95% intervals by channel, technique, goal,
goal kind, mutator and strategy; the coverage of technique x channel x goal; the findings) and a
self-contained HTML page (inline CSS and SVG, the eval report's chart helpers). Two campaigns
(the same one without and with a policy) are shown side by side: before / after.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ringfence.evals import proportion
from ringfence.evals._html import _CSS
from ringfence.evals._svg import Bar, metric_bars

if TYPE_CHECKING:
    from ringfence.redteam._campaign import CampaignResult

SCHEMA = "ringfence.redteam/1"
Doc = Mapping[str, Any]
Record = Mapping[str, Any]
_COLOURS = ("#e03131", "#1c7ed6")


def _rate(records: Sequence[Record]) -> dict[str, Any]:
    done = [r for r in records if r["status"] == "done"]
    k = sum(1 for r in done if r.get("success"))
    m = proportion(k, len(done))
    return {
        "attempts": len(records),
        "executed": len(done),
        "invalid": sum(1 for r in records if r["status"] == "invalid"),
        "successes": k,
        "rate": m.value,
        "ci_low": m.ci_low,
        "ci_high": m.ci_high,
        "errors": sum(1 for r in done if r.get("outcome") in ("error", "unscorable")),
    }


def _by(records: Sequence[Record], key: Callable[[Record], Iterable[str]]) -> dict[str, Any]:
    groups: dict[str, list[Record]] = defaultdict(list)
    for r in records:
        for name in key(r):
            groups[name].append(r)
    return {name: _rate(rs) for name, rs in sorted(groups.items())}


def _mutators(r: Record) -> list[str]:
    return list(r.get("mutators") or []) or ["none"]


def coverage(records: Sequence[Record]) -> list[dict[str, Any]]:
    """One row per (technique, channel, goal) tried: attempts, executed, successes."""
    cells: dict[tuple[str, str, str], Counter[str]] = defaultdict(Counter)
    for r in records:
        for technique in r.get("techniques", []):
            c = cells[(technique, r["channel"], r["goal"])]
            c["attempts"] += 1
            c["executed"] += r["status"] == "done"
            c["successes"] += bool(r.get("success"))
    return [
        {"technique": t, "channel": ch, "goal": g, **dict(c)}
        for (t, ch, g), c in sorted(cells.items())
    ]


def campaign_doc(result: CampaignResult) -> dict[str, Any]:
    """The JSON report of one campaign."""
    records = result.records
    tool = [r for r in records if r.get("goal_kind") == "tool-action"]
    summary = {
        "target": result.config.target,
        "policy": result.policy,
        "seed": result.config.seed,
        "budget": result.config.budget,
        "duration_s": round(result.duration_s, 3),
        "attempts_per_s": round(len(result.executed) / result.duration_s, 1)
        if result.duration_s
        else None,
        "overall": _rate(records),
        "tool_action": _rate(tool),
        "output_attack": _rate([r for r in records if r.get("goal_kind") == "output-attack"]),
        "channels_with_success": sorted({r["channel"] for r in result.successes}),
        "channels": sorted({r["channel"] for r in records}),
        "attacker": result.attacker_stats,
    }
    findings = result.findings.to_dict() if result.findings is not None else None
    return {
        "schema": SCHEMA,
        "config": result.config.model_dump(mode="json"),
        "summary": summary,
        "by_channel": _by(records, lambda r: [r["channel"]]),
        "by_technique": _by(records, lambda r: r.get("techniques", [])),
        "by_goal": _by(records, lambda r: [r["goal"]]),
        "goal_kinds": {str(r["goal"]): r.get("goal_kind") for r in records},
        "by_goal_kind": _by(records, lambda r: [r.get("goal_kind", "")]),
        "by_mutator": _by(records, _mutators),
        "by_strategy": _by(records, lambda r: [r.get("strategy", "catalogue")]),
        "by_owasp": _by(records, lambda r: r.get("owasp", [])),
        "coverage": coverage(records),
        "findings": findings,
    }


def write_report(docs: Sequence[Doc], out_dir: Path) -> tuple[Path, Path]:
    """``report.json`` (one campaign, or ``{"runs": [...]}`` for before/after) and
    ``report.html``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    data: Any = docs[0] if len(docs) == 1 else {"schema": SCHEMA, "runs": list(docs)}
    json_path = out_dir / "report.json"
    json_path.write_text(
        json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8"
    )
    html_path = out_dir / "report.html"
    html_path.write_text(render_html(docs), encoding="utf-8")
    return json_path, html_path


def _label(doc: Doc) -> str:
    policy = doc["summary"]["policy"]
    return f"policy {policy['name']}" if policy else "no policy"


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def render_html(docs: Sequence[Doc]) -> str:
    first = docs[0]["summary"]
    title = f"ringfence red team: {first['target']}"
    body = [
        f"<h1>{escape(title)}</h1><div class='meta'>"
        + " &middot; ".join(
            f"{escape(_label(d))}: seed {d['summary']['seed']}, "
            f"{d['summary']['overall']['executed']} attempts in "
            f"{d['summary']['duration_s']:.1f} s"
            for d in docs
        )
        + "</div>",
        _cards(docs),
    ]
    for key, heading in (
        ("by_channel", "Success rate by channel"),
        ("by_goal_kind", "Success rate by goal kind"),
        ("by_technique", "Success rate by technique"),
        ("by_goal", "Success rate by goal"),
        ("by_mutator", "Success rate by mutator"),
        ("by_strategy", "Success rate by strategy"),
    ):
        body.append(_bars(docs, key, heading))
    body.append(_coverage(docs[0]))
    body.extend(_findings(d) for d in docs)
    return (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>"
        f"{escape(title)}</title><style>{_CSS}</style></head><body><main>"
        + "".join(body)
        + "</main></body></html>\n"
    )


def _cards(docs: Sequence[Doc]) -> str:
    cards = []
    for doc in docs:
        s = doc["summary"]
        for name, label in (
            ("overall", "all goals"),
            ("tool_action", "tool-action goals"),
            ("output_attack", "output goals"),
        ):
            m = s[name]
            cards.append(
                f"<div class='card'><div>{escape(_label(doc))}: {label}</div>"
                f"<div class='v'>{_pct(m['rate'])}</div><div class='ci'>95% CI "
                f"{_pct(m['ci_low'])} - {_pct(m['ci_high'])}</div><div class='n'>"
                f"{m['successes']} of {m['executed']} attempts; {m['invalid']} "
                f"invalid (goal lost)</div></div>"
            )
    return f"<div class='cards'>{''.join(cards)}</div>"


def _bars(docs: Sequence[Doc], key: str, heading: str) -> str:
    names = list(dict.fromkeys(n for d in docs for n in d[key]))
    bars = []
    for name in names:
        for i, doc in enumerate(docs):
            m = doc[key].get(name)
            if m is None:
                continue
            label = name if len(docs) == 1 else f"{name} ({_label(doc)})"
            bars.append(
                Bar(
                    label[:34], m["rate"], m["ci_low"], m["ci_high"], m["executed"], _COLOURS[i % 2]
                )
            )
    return f"<section><h2>{escape(heading)}</h2>{metric_bars(bars)}</section>"


def _coverage(doc: Doc) -> str:
    channels = sorted({c["channel"] for c in doc["coverage"]})
    cells: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for c in doc["coverage"]:
        cell = cells[(c["technique"], c["channel"])]
        cell[0] += c.get("successes", 0)
        cell[1] += c.get("executed", 0)
    rows = []
    for technique in sorted({t for t, _ in cells}):
        tds = "".join(
            f"<td>{cells[(technique, ch)][0]}/{cells[(technique, ch)][1]}</td>"
            if (technique, ch) in cells
            else "<td class='meta'>-</td>"
            for ch in channels
        )
        rows.append(f"<tr><td>{escape(technique)}</td>{tds}</tr>")
    head = "".join(f"<th>{escape(c)}</th>" for c in channels)
    return (
        f"<section><h2>Coverage: technique x channel ({escape(_label(doc))})</h2>"
        f"<p class='meta'>successes / attempts run; '-': not tried. The JSON has the full "
        f"technique x channel x goal table.</p><table><tr><th>technique</th>{head}</tr>"
        f"{''.join(rows)}</table></section>"
    )


def _findings(doc: Doc) -> str:
    findings = doc.get("findings")
    if not findings:
        return ""
    rows = []
    for kind in ("regressions", "unresolved"):
        for f in findings[kind]:
            rows.append(
                f"<tr><td>{escape(f['id'])}</td><td>{kind}</td><td>{escape(f['goal'])}"
                f"</td><td>{escape(f['channel'])}</td><td>{f['original_chars']} -> "
                f"{f['chars']}</td><td>{escape(str(f['with_policy']))}</td></tr>"
            )
    return (
        f"<section><h2>Findings ({escape(_label(doc))}): {len(findings['regressions'])} "
        f"regression cases, {len(findings['unresolved'])} unresolved</h2><table><tr>"
        f"<th>case</th><th>file</th><th>goal</th><th>channel</th><th>chars</th>"
        f"<th>with check policy</th></tr>{''.join(rows)}</table></section>"
    )
