"""The default store: one SQLite database (WAL) for the audit log, cap ledger and approvals.

One connection per :class:`SqliteStore`, shared by threads under a lock; several processes may
open the same file (SQLite's locks serialise writers, ``BEGIN IMMEDIATE`` makes each write
transaction atomic). Every sqlite3 error is mapped to :class:`StoreError`.
"""

from __future__ import annotations

import bisect
import math
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

from ringfence.exceptions import StoreError
from ringfence.policy import CapCharge
from ringfence.store._migrations import migrate

Synchronous = Literal["OFF", "NORMAL", "FULL", "EXTRA"]

_EPS = 1e-9
PEEK_STALENESS_S = 0.05
"""How stale an advisory cap peek may be with respect to *other* connections' writes (this
connection's own writes invalidate at once). :meth:`SqliteStore.try_charge` never uses the
cache: the atomic reservation is exact, so staleness can only turn into an approval request
that is refused at execution, or a refusal that a retry a moment later would not get."""
_WINDOW_ROWS = "SELECT ts, amount, value FROM cap_usage WHERE cap_key = ? AND ts > ? ORDER BY ts"


class SqliteStore:
    """SQLite-backed store. ``path=":memory:"`` gives a private in-memory database.

    ``synchronous`` is SQLite's durability setting: ``FULL`` (default) fsyncs the WAL on every
    commit, so a committed audit record survives power loss; ``NORMAL`` survives a crash of the
    process but not of the machine.
    """

    def __init__(
        self,
        path: str | Path = ":memory:",
        *,
        synchronous: Synchronous = "FULL",
        busy_timeout_ms: int = 30_000,
    ) -> None:
        self.path = str(path)
        self._lock = threading.RLock()
        try:
            if self.path != ":memory:":
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, timeout=30.0
            )
            self._conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            if self.path != ":memory:":
                self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.execute(f"PRAGMA synchronous = {synchronous}")
            self.schema_version = migrate(self._conn)
        except (sqlite3.Error, OSError, RuntimeError) as exc:
            raise StoreError(f"cannot open store {self.path}: {exc}") from exc
        self._closed = False
        self._before_close: list[Callable[[], object]] = []
        # advisory cap peeks are served from memory until any connection writes the database;
        # try_charge always re-checks inside its write transaction
        self._cap_cache: dict[str, _Window] = {}
        self._data_version = -1
        self._version_checked = -math.inf

    # --- connection access ----------------------------------------------------------------

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction (``BEGIN IMMEDIATE``): committed on success, rolled back on error."""
        with self._lock:
            self._check_open()
            try:
                self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise StoreError(f"store {self.path}: cannot begin a transaction: {exc}") from exc
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            try:
                self._conn.execute("COMMIT")
            except sqlite3.Error as exc:
                self._conn.execute("ROLLBACK")
                raise StoreError(f"store {self.path}: commit failed: {exc}") from exc

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """The connection, for reads (each statement sees a consistent snapshot)."""
        with self._lock:
            self._check_open()
            try:
                yield self._conn
            except sqlite3.Error as exc:
                raise StoreError(f"store {self.path}: {exc}") from exc

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError(f"store {self.path} is closed")

    def before_close(self, callback: Callable[[], object]) -> None:
        """Run ``callback`` before the connection closes (audit logs flush their queues)."""
        self._before_close.append(callback)

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            callbacks, self._before_close = self._before_close, []
        for callback in callbacks:
            callback()
        with self._lock:
            if not self._closed:
                self._closed = True
                self._conn.close()

    def __enter__(self) -> SqliteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- cap ledger (implements ringfence.policy.CapLedger) --------------------------------

    def usage_after(self, charge: CapCharge, now: float) -> float:
        """Usage if ``charge`` were added (advisory: :meth:`try_charge` is the authority)."""
        since = now - charge.window_s
        with self._lock:  # not self.read(): this is on every decision's hot path
            self._check_open()
            try:
                cached = self._cached_window(charge.key, since)
            except sqlite3.Error as exc:
                raise StoreError(f"store {self.path}: cap ledger: {exc}") from exc
        start = bisect.bisect_right(cached[1], since)
        if charge.kind == "distinct":
            return float(len({v for _, v in cached[2][start:]} | set(charge.values)))
        # the whole cached window (the usual case) was summed once, in the same order
        total = cached[3] if start == 0 else sum(a for a, _ in cached[2][start:])
        return total + charge.amount

    def _cached_window(self, key: str, since: float) -> _Window:
        conn = self._conn
        moment = time.monotonic()
        if moment - self._version_checked > PEEK_STALENESS_S:
            self._version_checked = moment
            version = conn.execute("PRAGMA data_version").fetchone()[0]
            if version != self._data_version:  # another connection wrote: drop what we read
                self._cap_cache.clear()
                self._data_version = version
        cached = self._cap_cache.get(key)
        if cached is None or cached[0] > since:
            rows = conn.execute(_WINDOW_ROWS, (key, since)).fetchall()
            window = [(r[1], r[2]) for r in rows]
            cached = (since, [r[0] for r in rows], window, sum(a for a, _ in window))
            self._cap_cache[key] = cached
        return cached

    def try_charge(self, charges: tuple[CapCharge, ...], now: float) -> str | CapCharge:
        reservation = uuid.uuid4().hex
        self._cap_cache.clear()
        try:
            with self.write() as conn:
                for charge in charges:
                    if _usage(conn, charge, now) > charge.max + _EPS:
                        raise _Exceeded(charge)
                for charge in charges:
                    _insert(conn, charge, now, reservation)
        except _Exceeded as exc:
            return exc.charge
        except sqlite3.Error as exc:
            raise StoreError(f"store {self.path}: cap ledger: {exc}") from exc
        return reservation

    def release(self, reservation: str) -> None:
        self._cap_cache.clear()
        try:
            with self.write() as conn:
                conn.execute("DELETE FROM cap_usage WHERE reservation = ?", (reservation,))
        except sqlite3.Error as exc:
            raise StoreError(f"store {self.path}: cap ledger: {exc}") from exc


_Window = tuple[float, list[float], list[tuple[float, str | None]], float]
"""A cached cap window: since, row times, (amount, value) rows, and the rows' summed amount."""


class _Exceeded(Exception):
    def __init__(self, charge: CapCharge) -> None:
        self.charge = charge


def _usage(conn: sqlite3.Connection, charge: CapCharge, now: float) -> float:
    since = now - charge.window_s
    if charge.kind == "distinct":
        rows = conn.execute(
            "SELECT DISTINCT value FROM cap_usage WHERE cap_key = ? AND ts > ?",
            (charge.key, since),
        ).fetchall()
        return float(len({r[0] for r in rows} | set(charge.values)))
    row = conn.execute(
        "SELECT COALESCE(SUM(amount), 0) FROM cap_usage WHERE cap_key = ? AND ts > ?",
        (charge.key, since),
    ).fetchone()
    return float(row[0]) + charge.amount


def _insert(conn: sqlite3.Connection, charge: CapCharge, now: float, reservation: str) -> None:
    sql = "INSERT INTO cap_usage (cap_key, ts, amount, value, reservation) VALUES (?, ?, ?, ?, ?)"
    if charge.kind == "distinct":
        conn.executemany(sql, [(charge.key, now, 1.0, v, reservation) for v in charge.values])
    else:
        conn.execute(sql, (charge.key, now, charge.amount, None, reservation))
