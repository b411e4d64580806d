"""The store: one SQLite database for the audit log, the cap ledger and approvals."""

from ringfence.store._migrations import MIGRATIONS, Migration, migrate
from ringfence.store._sqlite import SqliteStore, Synchronous

__all__ = ["MIGRATIONS", "Migration", "SqliteStore", "Synchronous", "migrate"]
