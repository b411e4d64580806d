"""The approval package's curated ``__all__``, its audit event kinds and its schema."""

from __future__ import annotations

import ringfence.approval as approval
from ringfence.audit import EVENT_TYPES
from ringfence.store import MIGRATIONS, SqliteStore


def test_all_is_complete_and_importable():
    public = {n for n in dir(approval) if not n.startswith("_") and n[0].isupper()}
    assert public <= set(approval.__all__)
    for name in approval.__all__:
        assert getattr(approval, name) is not None


def test_event_kinds_are_registered():
    assert EVENT_TYPES["approval"] is approval.ApprovalEvent
    assert EVENT_TYPES["staged"] is approval.StagedEvent


def test_migrations_3_to_5_create_the_tables(tmp_path):
    assert [m.version for m in MIGRATIONS][:5] == [1, 2, 3, 4, 5]
    with SqliteStore(tmp_path / "s.db") as store, store.read() as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"approval_requests", "approval_votes", "approval_transitions", "approvers",
            "approver_tokens", "staged_changes", "soft_deletes"} <= tables  # fmt: skip
