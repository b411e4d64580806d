"""Soft deletes: delete-like tools that mark a resource deleted and can restore it.

Give the model :meth:`SoftDeletes.tool` instead of your real delete function: a call marks the
resource deleted (the application hides marked resources with :meth:`SoftDeletes.is_deleted`),
a person can :meth:`restore` it, and :meth:`purge` hard-deletes what stayed deleted longer than
a retention period, through the application's own callback. Every step is a ``staged`` audit
event (``soft_deleted``, ``restored``, ``purged``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ringfence.approval._events import StagedEvent
from ringfence.approval._records import write_tx
from ringfence.audit import AuditLog, canonical_json
from ringfence.store import SqliteStore


@dataclass(frozen=True)
class SoftDeleted:
    """A resource marked deleted (``restored_at`` set once it is restored)."""

    kind: str
    resource_id: str
    data: dict[str, Any]
    deleted_at: float
    deleted_by: str | None
    restored_at: float | None


class SoftDeletes:
    """Reversible deletes of resources of any ``kind`` (``ticket``, ``file``, ``contact``)."""

    def __init__(
        self,
        store: SqliteStore,
        *,
        audit: AuditLog | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.audit = audit or AuditLog(store, clock=clock)
        self.clock = clock

    def delete(
        self,
        kind: str,
        resource_id: str,
        *,
        data: Mapping[str, Any] | None = None,
        actor: str | None = None,
    ) -> SoftDeleted:
        """Mark deleted (idempotent: deleting a deleted resource changes nothing)."""
        now = self.clock()
        with write_tx(self.store) as conn:
            cur = conn.execute(
                "INSERT INTO soft_deletes (kind, resource_id, data, deleted_at, deleted_by) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT(kind, resource_id) DO UPDATE SET "
                "data = excluded.data, deleted_at = excluded.deleted_at, "
                "deleted_by = excluded.deleted_by, restored_at = NULL "
                "WHERE soft_deletes.restored_at IS NOT NULL",
                (kind, resource_id, canonical_json(dict(data or {})), now, actor),
            )
            changed = cur.rowcount == 1
        if changed:
            self._audit("soft_deleted", kind, resource_id, actor)
        found = self.get(kind, resource_id)
        assert found is not None
        return found

    def restore(self, kind: str, resource_id: str, *, actor: str | None = None) -> bool:
        """Undo a soft delete; False when the resource is not (or no longer) deleted."""
        with write_tx(self.store) as conn:
            cur = conn.execute(
                "UPDATE soft_deletes SET restored_at = ? WHERE kind = ? AND resource_id = ? "
                "AND restored_at IS NULL",
                (self.clock(), kind, resource_id),
            )
            changed = cur.rowcount == 1
        if changed:
            self._audit("restored", kind, resource_id, actor)
        return changed

    def is_deleted(self, kind: str, resource_id: str) -> bool:
        found = self.get(kind, resource_id)
        return found is not None and found.restored_at is None

    def get(self, kind: str, resource_id: str) -> SoftDeleted | None:
        with self.store.read() as conn:
            row = conn.execute(
                "SELECT kind, resource_id, data, deleted_at, deleted_by, restored_at "
                "FROM soft_deletes WHERE kind = ? AND resource_id = ?",
                (kind, resource_id),
            ).fetchone()
        return _row(row) if row else None

    def list_deleted(
        self, kind: str | None = None, *, include_restored: bool = False
    ) -> list[SoftDeleted]:
        sql = (
            "SELECT kind, resource_id, data, deleted_at, deleted_by, restored_at FROM soft_deletes"
        )
        where, params = [], []
        if kind is not None:
            where.append("kind = ?")
            params.append(kind)
        if not include_restored:
            where.append("restored_at IS NULL")
        if where:
            sql += " WHERE " + " AND ".join(where)
        with self.store.read() as conn:
            rows = conn.execute(sql + " ORDER BY deleted_at", params).fetchall()
        return [_row(r) for r in rows]

    def purge(
        self, kind: str, older_than_s: float, hard_delete: Callable[[str], None]
    ) -> list[str]:
        """Hard-delete (through ``hard_delete``) what stayed deleted for ``older_than_s``."""
        cutoff = self.clock() - older_than_s
        purged = []
        for item in self.list_deleted(kind):
            if item.deleted_at > cutoff:
                continue
            hard_delete(item.resource_id)
            with write_tx(self.store) as conn:
                conn.execute(
                    "DELETE FROM soft_deletes WHERE kind = ? AND resource_id = ? "
                    "AND restored_at IS NULL",
                    (kind, item.resource_id),
                )
            self._audit("purged", kind, item.resource_id, None)
            purged.append(item.resource_id)
        return purged

    def tool(
        self, kind: str, *, describe: Callable[[str], Mapping[str, Any]] | None = None
    ) -> Callable[[str], dict[str, Any]]:
        """A delete tool for the gateway (``gateway.add_function(soft.tool("ticket"),
        name="delete_ticket")``): it soft-deletes ``resource_id``; ``describe`` may return
        data to keep with the mark (what was deleted, for the restore screen)."""

        def delete(resource_id: str) -> dict[str, Any]:
            data = describe(resource_id) if describe else {}
            self.delete(kind, resource_id, data=data)
            return {"deleted": resource_id, "kind": kind, "restorable": True}

        delete.__doc__ = f"Delete a {kind} (it can be restored by a person)."
        return delete

    def _audit(self, action: str, kind: str, resource_id: str, actor: str | None) -> None:
        self.audit.append(
            StagedEvent(
                change_id=f"{kind}/{resource_id}",
                action=action,
                tool=f"delete:{kind}",
                call_id="",
                state=action,
                actor=actor,
            )
        )


def _row(row: tuple[Any, ...]) -> SoftDeleted:
    return SoftDeleted(row[0], row[1], json.loads(row[2]), row[3], row[4], row[5])
