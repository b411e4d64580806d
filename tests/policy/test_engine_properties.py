"""Property tests of the engine: default deny, forbid wins, errors never allow, caps hold.

The engine is compared against a ten-line reference model of the semantics on random policies.
"""

from __future__ import annotations

import multiprocessing as mp
import threading
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ringfence.policy import CallContext, Principal, ToolCall, policy_from_data
from ringfence.store import SqliteStore

TOOLS = ["a", "b", "c"]
ARGS = ["x", "y"]

rule_st = st.fixed_dictionaries(
    {
        "effect": st.sampled_from(["forbid", "approve"]),
        "tools": st.lists(st.sampled_from([*TOOLS, "*"]), min_size=1, max_size=2, unique=True),
        "arg": st.sampled_from(ARGS),
        "gt": st.integers(-5, 5),
    }
)
tool_st = st.fixed_dictionaries(
    {
        "effect": st.sampled_from(["allow", "deny", "approve"]),
        "maximum": st.none() | st.integers(-5, 5),
    }
)
policy_st = st.fixed_dictionaries(
    {
        "tools": st.dictionaries(st.sampled_from(TOOLS), tool_st, max_size=3),
        "rules": st.lists(rule_st, max_size=4),
    }
)
call_st = st.tuples(
    st.sampled_from([*TOOLS, "zzz"]),
    st.dictionaries(st.sampled_from(ARGS), st.integers(-8, 8) | st.just("text"), max_size=2),
)


def _to_policy(spec: dict[str, Any]):
    tools = {}
    for name, t in spec["tools"].items():
        args = {"x": {"maximum": t["maximum"]}} if t["maximum"] is not None else {}
        tools[name] = {"effect": t["effect"], "args": args}
    rules = [
        {
            "id": f"r{i}",
            "effect": r["effect"],
            "tools": [x for x in r["tools"] if x == "*" or x in tools] or ["*"],
            "when": {"arg": r["arg"], "gt": r["gt"]},
        }
        for i, r in enumerate(spec["rules"])
    ]
    return policy_from_data({"version": 1, "name": "p", "tools": tools, "rules": rules})


def _reference(spec: dict[str, Any], tool: str, args: dict[str, Any]) -> str:
    """The semantics in its simplest form."""
    t = spec["tools"].get(tool)
    if t is None or t["effect"] == "deny":
        return "deny"
    forbid = error = approve = False
    x = args.get("x")
    if t["maximum"] is not None and "x" in args:
        forbid |= not isinstance(x, int) or x > t["maximum"]
    for r in spec["rules"]:
        applies = (
            "*" in r["tools"]
            or tool in r["tools"]
            or not [n for n in r["tools"] if n in spec["tools"]]
        )
        if not applies:
            continue
        value = args.get(r["arg"])
        if r["arg"] not in args:
            continue
        if not isinstance(value, int):
            error = True
        elif value > r["gt"]:
            forbid |= r["effect"] == "forbid"
            approve |= r["effect"] == "approve"
    approve |= t["effect"] == "approve"
    return "deny" if forbid else "error" if error else "approve" if approve else "allow"


@settings(max_examples=400, deadline=None)
@given(policy_st, call_st)
def test_engine_matches_reference_semantics(
    spec: dict[str, Any], call: tuple[str, dict[str, Any]]
) -> None:
    policy = _to_policy(spec)
    tool, args = call
    verdict = policy.evaluate(ToolCall(tool, args), CallContext(Principal("u"), "s"))
    assert verdict.decision == _reference(spec, tool, args)
    assert verdict.rules, "every verdict names the rules that decided it"
    if verdict.errors and verdict.decision not in ("deny", "error"):
        raise AssertionError("a rule errored but the call was not refused")


@settings(max_examples=200, deadline=None)
@given(policy_st, call_st)
def test_undeclared_tools_are_always_denied(
    spec: dict[str, Any], call: tuple[str, dict[str, Any]]
) -> None:
    policy = _to_policy(spec)
    verdict = policy.evaluate(
        ToolCall("not_declared_anywhere", call[1]), CallContext(Principal("u"), "s")
    )
    assert (verdict.decision, verdict.rules) == ("deny", ("default-deny",))


@settings(max_examples=200, deadline=None)
@given(policy_st, call_st)
def test_adding_a_forbid_rule_never_turns_deny_into_allow(
    spec: dict[str, Any], call: tuple[str, dict[str, Any]]
) -> None:
    tool, args = call
    before = _to_policy(spec).evaluate(ToolCall(tool, args), CallContext(Principal("u"), "s"))
    spec2 = {
        **spec,
        "rules": [*spec["rules"], {"effect": "forbid", "tools": ["*"], "arg": "x", "gt": 0}],
    }
    after = _to_policy(spec2).evaluate(ToolCall(tool, args), CallContext(Principal("u"), "s"))
    rank = {"allow": 0, "approve": 1, "error": 2, "deny": 3}
    assert rank[after.decision] >= rank[before.decision] or before.decision == "error"


CAP_POLICY = {
    "version": 1,
    "name": "caps",
    "tools": {
        "refund": {
            "effect": "allow",
            "caps": [
                {"id": "daily", "sum": "amount", "max": 100, "window": "24h", "per": "principal"},
                {"id": "rate", "count": True, "max": 4, "window": "1h", "per": "session"},
            ],
        }
    },
}

calls_st = st.lists(
    st.tuples(
        st.sampled_from(["p1", "p2"]),
        st.sampled_from(["s1", "s2"]),
        st.integers(1, 60),
        st.integers(0, 7200),
    ),
    min_size=1,
    max_size=40,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(calls_st)
def test_caps_never_exceeded_in_any_sequence(
    tmp_path: Path, calls: list[tuple[str, str, int, int]]
) -> None:
    policy = policy_from_data(CAP_POLICY)
    db = tmp_path / f"caps-{abs(hash(tuple(calls)))}.db"
    now = 1_000_000.0
    allowed: list[tuple[float, str, str, int]] = []
    with SqliteStore(db, synchronous="OFF") as store:
        for principal, session, amount, dt in calls:
            now += dt
            ctx = CallContext(
                Principal(principal), f"{principal}-{session}", None, None, store, now
            )
            verdict = policy.evaluate(ToolCall("refund", {"amount": amount}), ctx)
            if verdict.decision == "allow" and isinstance(
                store.try_charge(verdict.charges, now), str
            ):
                allowed.append((now, principal, f"{principal}-{session}", amount))
    for t, principal, session, _ in allowed:
        day = sum(a for t2, p2, _, a in allowed if p2 == principal and t - 86400 < t2 <= t)
        hour = sum(1 for t2, _, s2, _ in allowed if s2 == session and t - 3600 < t2 <= t)
        assert day <= 100 and hour <= 4


def _charge_many(db: str, n: int, results: Any) -> None:
    policy = policy_from_data(CAP_POLICY)
    ok = 0
    with SqliteStore(db) as store:
        for i in range(n):
            ctx = CallContext(Principal("p1"), f"s{i}", None, None, store, 5000.0)
            verdict = policy.evaluate(ToolCall("refund", {"amount": 7}), ctx)
            if verdict.decision == "allow" and isinstance(
                store.try_charge(verdict.charges, 5000.0), str
            ):
                ok += 1
    results.put(ok)


def test_caps_hold_across_processes(tmp_path: Path) -> None:
    """Four processes race for one 100/day cap with 7-unit refunds: at most 14 can pass."""
    db = str(tmp_path / "race.db")
    SqliteStore(db).close()
    ctx = mp.get_context("spawn")
    results = ctx.Queue()
    procs = [ctx.Process(target=_charge_many, args=(db, 10, results)) for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
    granted = sum(results.get(timeout=5) for _ in procs)
    assert granted == 14  # 14 * 7 = 98 <= 100, a 15th would exceed; and nothing was lost


def test_caps_hold_across_threads_with_separate_connections(tmp_path: Path) -> None:
    db = str(tmp_path / "threads.db")
    SqliteStore(db).close()
    policy = policy_from_data(CAP_POLICY)
    granted: list[int] = []
    lock = threading.Lock()

    def worker(k: int) -> None:
        with SqliteStore(db) as store:
            for i in range(10):
                ctx = CallContext(Principal("p1"), f"t{k}-{i}", None, None, store, 5000.0)
                verdict = policy.evaluate(ToolCall("refund", {"amount": 9}), ctx)
                if verdict.decision == "allow" and isinstance(
                    store.try_charge(verdict.charges, 5000.0), str
                ):
                    with lock:
                        granted.append(9)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(granted) == 99  # 11 refunds of 9; a 12th would exceed 100
