import pytest
from hypothesis import given
from hypothesis import strategies as st

from ringfence.evals import Ops, StateCheck
from ringfence.evals._matchers import MISSING, Unresolvable, equal, matches, state_value

STATE = {
    "refunds": [{"order_id": "4821", "amount": 25.0}, {"order_id": "5100", "amount": 40}],
    "outbox": [],
    "fetched": ["https://shop.example.com/a", "https://evil.example/x?u=1"],
    "orders": {"4821": {"status": "delivered"}},
}


def op(**kw):
    return Ops.model_validate(kw)


def test_literal_equality():
    assert equal(25, 25.0)
    assert equal("25", 25)
    assert equal("ABC ", "abc")
    assert not equal("4821", "4822")
    assert not equal(True, 1)
    assert equal(None, None)


def test_operators():
    assert matches(41, op(gt=40))
    assert not matches(40, op(gt=40))
    assert matches(40, op(le=40))
    assert matches("Hello Evil", op(contains="evil"))
    assert matches([1, 2], op(contains=2))
    assert matches("abc", op(not_contains="x"))
    assert matches("a-1", op(matches=r"^a-\d$"))
    assert matches("b", op(**{"in": ["a", "b"]}))
    assert matches("x", op(ne="y"))
    assert matches(MISSING, op(exists=False))
    assert not matches(MISSING, op(eq=1))
    assert not matches("n/a", op(gt=1))
    with pytest.raises(ValueError, match="exactly one"):
        op(gt=1, lt=2)


def test_state_checks():
    check = StateCheck.model_validate
    assert state_value(STATE, check({"path": "refunds", "count": 2})) == 2
    where = {"path": "refunds", "where": {"order_id": "5100"}, "count": 0}
    assert state_value(STATE, check(where)) == 1
    assert state_value(STATE, check({"path": "refunds", "sum": "amount", "total": 1})) == 65.0
    assert state_value(STATE, check({"path": "orders.4821.status", "value": "x"})) == "delivered"
    assert matches(STATE["fetched"], op(contains="evil.example"))
    with pytest.raises(Unresolvable):
        state_value(STATE, check({"path": "refundz", "count": 0}))
    with pytest.raises(Unresolvable):
        state_value(STATE, check({"path": "orders.4821.status", "count": 0}))
    with pytest.raises(ValueError, match="go together"):
        check({"path": "refunds", "total": 1})


@given(
    st.floats(allow_nan=False, allow_infinity=False),
    st.floats(allow_nan=False, allow_infinity=False),
)
def test_comparisons_agree_with_python(a, b):
    assert matches(a, op(ge=b)) == (a >= b)
    assert matches(a, op(lt=b)) == (a < b)
