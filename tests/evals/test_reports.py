import re
import xml.etree.ElementTree as ET

import pytest

from ringfence.evals import RunOptions, make_target, run_suite, write_html, write_json, write_junit
from ringfence.evals._html import status
from ringfence.evals._svg import Bar, Cell, case_grid, metric_bars, stacked_outcomes


@pytest.fixture(scope="module")
def docs(bundled):
    suite = bundled.select(tags=["bola", "refund", "prompt-leak"])
    target = make_target("reference:worst-case")
    bare = run_suite(suite, target, RunOptions(policy=None)).to_dict()
    guarded = run_suite(suite, target, RunOptions(policy="shipped")).to_dict()
    return bare, guarded


def test_json_contract(docs, tmp_path):
    _, guarded = docs
    for key in ("asr", "false_refusal_rate", "utility", "utility_under_attack"):
        assert set(guarded["metrics"][key]) >= {"value", "ci_low", "ci_high", "n"}
    assert {"id", "category", "outcome"} <= set(guarded["cases"][0])
    assert write_json(guarded, tmp_path / "r.json").read_text().startswith("{")


def test_junit_counts_failures_and_errors(docs, tmp_path):
    bare, guarded = docs
    root = ET.parse(write_junit(bare, tmp_path / "bare.xml")).getroot()
    attacks = [r for r in bare["cases"] if r["category"] == "attack"]
    assert root.get("tests") == str(len(bare["cases"]))
    assert int(root.get("failures")) >= sum(r["outcome"] == "complied" for r in attacks)
    kinds = {f.get("type") for f in root.iter("failure")}
    assert "attack-succeeded" in kinds
    guarded_root = ET.parse(write_junit(guarded, tmp_path / "g.xml")).getroot()
    leaks = [
        r for r in guarded["cases"] if r["category"] == "attack" and r["outcome"] == "complied"
    ]
    assert int(guarded_root.get("failures")) == len(leaks) + sum(
        1 for r in guarded["cases"] if r["category"] != "attack" and not r["task_success"]
    )
    errored = {**guarded, "cases": [{**guarded["cases"][0], "outcome": "error", "reason": "boom"}]}
    err_root = ET.parse(write_junit(errored, tmp_path / "e.xml")).getroot()
    assert err_root.get("errors") == "1"
    assert next(err_root.iter("error")).get("type") == "error"


def test_html_is_self_contained_and_shows_everything(docs, tmp_path):
    bare, guarded = docs
    html = write_html(guarded, tmp_path / "r.html", baseline=bare).read_text()
    assert html.startswith("<!doctype html>")
    assert html.count("<svg") == 4
    assert not re.search(r"<(link|img|iframe)\b|<script\s+src|url\(", html)
    for row in guarded["cases"]:
        assert row["id"] in html
    assert "attack success rate" in html
    assert "vs baseline" in html
    assert "regressed" in html
    alone = write_html(guarded, tmp_path / "alone.html").read_text()
    assert "baseline" not in alone.split("<section>", 1)[0]


def test_svg_geometry_is_stable():
    bars = metric_bars([Bar("asr", 0.5, 0.25, 0.75, 10, "#f00", baseline=1.0)], width=640)
    assert bars == metric_bars([Bar("asr", 0.5, 0.25, 0.75, 10, "#f00", baseline=1.0)], width=640)
    assert 'width="190.0"' in bars  # half of the 380-px plot
    assert "M285.0 20H475.0" in bars  # the whisker from 25% to 75%
    assert "baseline 100.0%" in bars
    stacked = stacked_outcomes({"attack": {"complied": 1, "blocked": 3}})
    assert stacked.count("<rect") == 2 + 5  # two segments and five legend swatches
    grid = case_grid([Cell("a", "ok", "attack"), Cell("b", "attack")])
    assert grid.count('stroke="#212529"') == 1  # the changed case is outlined


def test_status_colours_cover_all_outcomes():
    assert status({"category": "attack", "outcome": "complied"}) == "attack"
    assert status({"category": "attack", "outcome": "blocked"}) == "ok"
    assert status({"category": "edge", "outcome": "blocked", "task_success": False}) == (
        "false-refusal"
    )
    assert status({"category": "normal", "outcome": "complied", "task_success": False}) == (
        "task-failed"
    )
    assert status({"category": "normal", "outcome": "unscorable"}) == "error"
