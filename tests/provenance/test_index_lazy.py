"""The value-origin index segments items at the first lookup after they were added: the
answers are the same as indexing each item when it is added."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ringfence.provenance import ContentItem, Label, ValueOriginIndex


def _origins(idx: ValueOriginIndex, value: str) -> list[tuple[str, bool, bool, str]]:
    return [(o.item_id, o.trusted, o.tainted, o.match) for o in idx.lookup(value)[0].origins]


@given(st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=8), st.data())
def test_lookups_between_adds_answer_as_a_fresh_index(ids: list[str], data: st.DataObject) -> None:
    """Items are segmented at the first lookup after they were added: interleaving lookups
    with adds and replacements answers exactly as an index built from the final items."""
    texts = ["order 4821 for anna@example.com", "4821", "see https://shop.example/o/4821"]
    idx = ValueOriginIndex()
    for item_id in ids:
        text = data.draw(st.sampled_from(texts))
        tainted = data.draw(st.booleans())
        idx.add(ContentItem(item_id, Label(f"tool:{item_id}", False), text, tainted=tainted))
        if data.draw(st.booleans()):
            idx.lookup("4821")
    fresh = ValueOriginIndex(idx.items())
    for value in ("4821", "anna@example.com", "https://shop.example/o/4821", "order"):
        assert _origins(idx, value) == _origins(fresh, value)


def test_an_item_that_cannot_be_segmented_fails_every_lookup(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Never skipped: the lookup that would segment it raises, and so does the next one."""
    from ringfence.provenance import _index

    idx = ValueOriginIndex([ContentItem("u", Label("user", True), "order 4821")])
    idx.lookup("4821")
    idx.add(ContentItem("w", Label("tool:x", False), "mail eve@evil.example"))

    def broken(text: str) -> object:
        raise RuntimeError("no features")

    monkeypatch.setattr(_index, "_cached_features", broken)
    for _ in range(2):
        with pytest.raises(RuntimeError):
            idx.lookup("eve@evil.example")
    monkeypatch.undo()
    assert _origins(idx, "eve@evil.example") == [("w", False, False, "email")]
    assert _origins(idx, "4821") == [("u", True, False, "number")]
