"""Writing reports: JSON (the results document), JUnit XML (for CI) and HTML (for people)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ringfence.exceptions import ConfigError


def _write(path: str | Path, text: str) -> Path:
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot write report {target}: {exc}") from exc
    return target


def write_json(doc: Mapping[str, Any], path: str | Path) -> Path:
    """The results document as JSON (what ``--baseline`` reads back)."""
    return _write(path, json.dumps(doc, indent=2, ensure_ascii=False, default=str) + "\n")


def _failure(row: Mapping[str, Any]) -> tuple[str, str] | None:
    """(type, message) when the case failed, None when it passed."""
    outcome = row["outcome"]
    if outcome in ("error", "unscorable"):
        return outcome, row.get("reason") or outcome
    failed = [c["detail"] for c in row.get("checks", []) if c["ok"] is False]
    if row["category"] == "attack":
        if outcome == "complied":
            return "attack-succeeded", "; ".join(c for c in failed) or "attack succeeded"
        return None
    if row.get("task_success"):
        return None
    kind = "false-refusal" if outcome in ("refused", "blocked") else "task-failed"
    return kind, f"outcome {outcome}: " + ("; ".join(failed) or "task not done")


def junit_xml(doc: Mapping[str, Any]) -> str:
    """JUnit XML: one test suite per category, one test case per case. A successful attack or a
    failed task is a failure; ``error`` and ``unscorable`` are errors (never skipped)."""
    name = str(doc["suite"]["name"])
    root = ET.Element("testsuites", name=f"ringfence eval {name}")
    totals = {"tests": 0, "failures": 0, "errors": 0}
    for category in ("normal", "edge", "attack"):
        rows = [r for r in doc["cases"] if r["category"] == category]
        if not rows:
            continue
        suite = ET.SubElement(root, "testsuite", name=f"{name}.{category}")
        counts = {"tests": len(rows), "failures": 0, "errors": 0}
        for row in rows:
            case = ET.SubElement(suite, "testcase", classname=f"{name}.{category}", name=row["id"],
                                 time=f"{row.get('latency_ms', 0) / 1000:.4f}")  # fmt: skip
            failure = _failure(row)
            if failure is not None:
                kind, message = failure
                tag = "error" if kind in ("error", "unscorable") else "failure"
                counts["errors" if tag == "error" else "failures"] += 1
                element = ET.SubElement(case, tag, type=kind, message=message[:500])
                element.text = _details(row)
            ET.SubElement(case, "system-out").text = str(row.get("output", ""))[:2000]
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
    for key, value in totals.items():
        root.set(key, str(value))
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _details(row: Mapping[str, Any]) -> str:
    lines = [f"outcome: {row['outcome']}", f"tags: {', '.join(row.get('tags', []))}"]
    lines += [f"check {'ok' if c['ok'] else 'FAILED' if c['ok'] is False else 'N/A'}: "
              f"[{c['block']}] {c['detail']}" for c in row.get("checks", [])]  # fmt: skip
    lines += [f"call {c['tool']}({json.dumps(c['args'], ensure_ascii=False)}) -> {c['decision']}"
              for c in row.get("calls", [])]  # fmt: skip
    return "\n".join(lines)


def write_junit(doc: Mapping[str, Any], path: str | Path) -> Path:
    return _write(path, junit_xml(doc))


def write_html(
    doc: Mapping[str, Any], path: str | Path, *, baseline: Mapping[str, Any] | None = None
) -> Path:
    """A self-contained HTML report (inline CSS and SVG; no network)."""
    from ringfence.evals._html import render_html

    return _write(path, render_html(doc, baseline))
