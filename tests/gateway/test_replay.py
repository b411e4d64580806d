"""Replaying JSONL traces: decisions per call, and clear errors for malformed traces."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ringfence.exceptions import ConfigError, TraceError
from ringfence.gateway import replay
from ringfence.policy import policy_from_yaml

ROOT = Path(__file__).resolve().parents[2]
TRACE = ROOT / "examples" / "support_desk" / "trace.jsonl"


def _write(tmp_path: Path, *lines: object) -> Path:
    path = tmp_path / "t.jsonl"
    path.write_text("\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n")
    return path


def test_example_trace_decisions(policy) -> None:
    rows = list(replay(policy, TRACE))
    assert [(r["tool"], r["decision"]) for r in rows] == [
        ("get_order", "allow"),
        ("refund", "allow"),
        ("send_email", "allow"),
        ("refund", "deny"),
        ("send_email", "deny"),
        ("refund", "deny"),
        ("delete_account", "deny"),
        ("cancel_order", "approve"),
        ("wire_transfer", "deny"),
    ]
    assert rows[3]["rules"] == ["refund.args.order_id.owned_by_principal"]
    assert rows[4]["rules"] == ["email-recipient-trusted"]
    assert rows[-1]["rules"] == ["default-deny"]
    assert set(rows[0]) >= {"tool", "decision", "reasons", "rules"}


def test_replay_is_deterministic(policy) -> None:
    assert list(replay(policy, TRACE)) == list(replay(policy, TRACE))


def test_caps_apply_across_a_trace_with_timestamps(policy, tmp_path: Path) -> None:
    call = {
        "type": "call",
        "principal": "u",
        "session": "s",
        "tool": "refund",
        "args": {"order_id": "1111", "amount": 40},
    }
    path = _write(
        tmp_path,
        {"type": "resource", "kind": "order", "id": 1111, "owner": "u"},
        {"type": "content", "source": "user", "text": "refund 40 on 1111"},
        {**call, "ts": 1000.0},
        {**call, "ts": 1001.0},
        {**call, "ts": 1002.0},
        {**call, "ts": 1000.0 + 86_401},
    )
    rows = list(replay(policy, path))
    assert [r["decision"] for r in rows] == ["allow", "allow", "deny", "allow"]
    assert rows[2]["rules"] == ["refund-daily-total"]


def test_principal_lines_set_roles(tmp_path: Path) -> None:
    pol = policy_from_yaml(
        "version: 1\nname: r\ntools:\n  t: {effect: allow}\nrules:\n"
        "  - {id: admins-only, effect: forbid, tools: [t], when: {not: {principal: roles, contains: admin}}}\n"
    )
    path = _write(
        tmp_path,
        {"type": "principal", "id": "boss", "roles": ["admin"]},
        {"type": "call", "principal": "boss", "session": "a", "tool": "t"},
        {"type": "call", "principal": "temp", "session": "b", "tool": "t"},
    )
    assert [r["decision"] for r in replay(pol, path)] == ["allow", "deny"]


def test_handler_import_path_executes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "myhandlers.py").write_text(
        "CALLS = []\ndef t(x: int) -> str:\n    CALLS.append(x)\n    return 'ok'\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    pol = policy_from_yaml(
        "version: 1\nname: h\ntools:\n  t: {effect: allow, handler: 'myhandlers:t'}\n"
    )
    path = _write(
        tmp_path, {"type": "call", "principal": "u", "session": "s", "tool": "t", "args": {"x": 3}}
    )
    (row,) = replay(pol, path)
    import myhandlers  # type: ignore[import-not-found]

    assert row["executed"] and myhandlers.CALLS == [3]


def test_missing_handler_is_a_config_error(tmp_path: Path) -> None:
    pol = policy_from_yaml(
        "version: 1\nname: h\ntools:\n  t: {effect: allow, handler: 'no_such_module:t'}\n"
    )
    path = _write(tmp_path, {"type": "call", "principal": "u", "session": "s", "tool": "t"})
    with pytest.raises(ConfigError, match="cannot import handler"):
        list(replay(pol, path))


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("{not json", "line 2: not JSON"),
        ({"type": "call", "principal": "u", "tool": "t"}, "line 2 (session): Field required"),
        ({"type": "cal", "tool": "t"}, "line 2"),
        ({"type": "content", "source": "user", "text": "x", "extra": 1}, "unknown key"),
        ({"type": "resource", "kind": "order", "id": "1"}, "owner"),
    ],
)
def test_malformed_trace_lines_name_line_and_field(
    policy, tmp_path: Path, line: object, expected: str
) -> None:
    path = _write(tmp_path, "# a comment", line)
    with pytest.raises(TraceError) as info:
        list(replay(policy, path))
    assert expected in str(info.value)
    assert str(path) in str(info.value)


def test_every_bad_line_is_reported_and_nothing_runs(policy, tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    path = _write(
        tmp_path, {"type": "call", "principal": "u", "session": "s", "tool": "refund"}, "{", "[]"
    )
    with pytest.raises(TraceError) as info:
        list(replay(policy, path, db=db))
    assert len(info.value.problems) == 2
    assert not db.exists()


def test_session_owner_conflict(policy, tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        {"type": "call", "principal": "a", "session": "s", "tool": "delete_account"},
        {"type": "call", "principal": "b", "session": "s", "tool": "delete_account"},
    )
    with pytest.raises(ConfigError, match="belongs to"):
        list(replay(policy, path))
