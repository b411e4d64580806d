"""``ringfence scan``."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from ringfence.cli._app import cli

POLICY = """
version: 1
name: scan
guards:
  untrusted: []
  input:
    - {use: size, with: {max_chars: 20}}
  output:
    - {use: secrets}
    - {use: pii, action: redact}
"""


@pytest.fixture
def policy_file(tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY)
    return str(path)


def scan(args, text):
    return CliRunner().invoke(cli, ["scan", *args], input=text)


def test_json_output(policy_file):
    result = scan(["--policy", policy_file, "--json"], "short text")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["verdict"] == "pass"
    assert data["findings"] == []
    assert data["latency_ms"] >= 0


def test_blocked_text_exits_1_and_lists_findings(policy_file):
    result = scan(["--policy", policy_file, "--json"], "x" * 30)
    assert result.exit_code == 1
    data = json.loads(result.output)
    assert data["verdict"] == "block"
    assert data["findings"][0]["kind"] == "size.chars"
    assert data["findings"][0]["action"] == "block"


def test_jsonl_scans_each_line(policy_file):
    text = "hello\nmail a@example.com\n"
    result = scan(["--policy", policy_file, "--direction", "output", "--jsonl"], text)
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert [d["verdict"] for d in lines] == ["pass", "flag"]
    assert lines[1]["text"] == "mail <EMAIL_1>"


def test_human_output_and_file_argument(policy_file, tmp_path):
    path = tmp_path / "answer.txt"
    path.write_text("key AKIA" + "IOSFODNN7EXAMPLQ")
    result = scan(["--policy", policy_file, "--direction", "output", str(path)], "")
    assert result.exit_code == 1
    assert "verdict: block" in result.output
    assert "secrets/secret.aws_access_key" in result.output


def test_errors_name_the_file(tmp_path, policy_file):
    missing = scan(["--policy", policy_file, str(tmp_path / "nope.txt")], "")
    assert missing.exit_code == 2
    assert "nope.txt" in missing.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nname: x\nguards: {input: [{use: nope}]}\n")
    result = scan(["--policy", str(bad)], "hi")
    assert result.exit_code == 2
    assert "bad.yaml:line 3" in result.output
