"""The proxy's JSON: orjson where it is exact, the standard library where it is not."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ringfence.server._wire import dumps, loads

_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@given(_JSON)
def test_a_document_reads_and_writes_back_as_the_standard_library_does(value):
    raw = json.dumps(value, ensure_ascii=False).encode()
    parsed = loads(raw)
    assert parsed == json.loads(raw)
    assert json.loads(dumps(parsed)) == value


def test_integers_beyond_64_bits_stay_integers():
    big = 123456789012345678901234567890
    assert loads(b'{"seed": %d}' % big) == {"seed": big}
    assert dumps({"seed": big, "x": -(2**70)}) == b'{"seed":%d,"x":%d}' % (big, -(2**70))


@pytest.mark.parametrize("raw", [b'{"a": NaN}', b"[Infinity]", b"[-Infinity]", b"[1e400]", b"[1,"])
def test_what_is_not_json_is_rejected(raw):
    with pytest.raises(ValueError, match=r"."):
        loads(raw)


def test_lone_surrogates_are_written_escaped():
    assert loads(b'"\\ud800"') == "\ud800"
    assert dumps("\ud800") == b'"\\ud800"'
