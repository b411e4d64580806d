"""The audit log writer: append-only, hash-chained, with group commit.

``append(event, durable=True)`` returns once the record is committed (one fsync under
``synchronous=FULL``); appends from several threads that arrive together share one commit.
``durable=False`` queues the record; queued records are written within ``flush_interval``
seconds, when ``max_batch`` are waiting, before the next durable append, and at close or exit.
A failed write keeps the records queued and raises to a durable caller: nothing is dropped.

``deferring()`` lets a caller on an event loop run a short synchronous step without waiting for
a commit there: durable appends made on that thread inside the block are queued, counted, and
committed by the caller's :meth:`AuditLog.flush` (from a worker thread) before anything that
depends on them leaves the process.
"""

from __future__ import annotations

import atexit
import logging
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from ringfence.audit._chain import GENESIS, Chain, canonical_json, key_from_env
from ringfence.audit._events import AuditEvent, AuditRecord
from ringfence.exceptions import ConfigError, StoreError
from ringfence.store import SqliteStore

log = logging.getLogger("ringfence.audit")

_INSERT = (
    "INSERT INTO audit_events (seq, ts_us, kind, session, principal, payload, prev_hash, hash) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
_HEAD = (
    "INSERT INTO audit_head (id, seq, hash, alg) VALUES (1, ?, ?, ?) "
    "ON CONFLICT(id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash"
)


# a queued record: (ticket, ts_us, kind, session, principal, payload)
_Pending = tuple[int, int, str, str | None, str | None, str]


@dataclass
class Deferred:
    """Durable appends queued inside :meth:`AuditLog.deferring`; commit them with
    :meth:`AuditLog.flush` when ``count`` is not 0."""

    count: int = 0


class AuditLog:
    """Hash-chained, append-only audit log over a :class:`SqliteStore`."""

    def __init__(
        self,
        store: SqliteStore,
        *,
        key: bytes | None = None,
        flush_interval: float = 0.05,
        max_batch: int = 1024,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self._chain = Chain(key if key is not None else key_from_env())
        self._check_algorithm()
        self._flush_interval = flush_interval
        self._max_batch = max_batch
        self._clock = clock
        self._cv = threading.Condition()
        self._pending: list[_Pending] = []
        self._next_ticket = 1
        self._written_ticket = 0
        self._seqs: dict[int, int] = {}  # seq of each durable ticket whose caller still waits
        self._waiting: set[int] = set()
        self._flush_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._local = threading.local()  # .deferred: the Deferred of this thread's block
        ref = weakref.ref(self)
        atexit.register(_close_at_exit, ref)
        store.before_close(lambda: _close_at_exit(ref))  # closing the store never strands records

    def _check_algorithm(self) -> None:
        with self.store.read() as conn:
            row = conn.execute("SELECT alg FROM audit_head WHERE id = 1").fetchone()
        if row is not None and row[0] != self._chain.alg:
            raise ConfigError(
                f"audit log in {self.store.path} uses {row[0]}; this writer uses "
                f"{self._chain.alg} (set or unset RINGFENCE_AUDIT_KEY to match)"
            )

    # --- writing ---------------------------------------------------------------------------

    def append(self, event: AuditEvent, *, durable: bool = True) -> int | None:
        """Append one event. Durable appends return the record's sequence number (``None``
        inside :meth:`deferring`, where they are queued)."""
        durable = durable and not self._defer(1)
        ticket = self._enqueue([event], wait=durable)
        if durable:
            try:
                self._flush_through(ticket)
            finally:
                with self._cv:
                    self._waiting.discard(ticket)
                    seq = self._seqs.pop(ticket, None)
            return seq
        self._after_queue()
        return None

    def append_many(self, events: Iterable[AuditEvent], *, durable: bool = True) -> None:
        """Append several events in order; with ``durable`` they are committed on return."""
        batch = list(events)
        durable = durable and not self._defer(len(batch))
        ticket = self._enqueue(batch)
        if durable:
            self._flush_through(ticket)
        else:
            self._after_queue()

    @contextmanager
    def deferring(self) -> Iterator[Deferred]:
        """Within the block, durable appends made on this thread are queued, not committed, and
        counted in the yielded :class:`Deferred`. The caller must :meth:`flush` before acting on
        the step's outcome (answering a client); a failed flush raises and keeps the records
        queued, as a failed durable append would. For short, synchronous steps only."""
        outer = getattr(self._local, "deferred", None)
        self._local.deferred = deferred = Deferred()
        try:
            yield deferred
        finally:
            self._local.deferred = outer
            if outer is not None:
                outer.count += deferred.count

    def _defer(self, n: int) -> bool:
        deferred: Deferred | None = getattr(self._local, "deferred", None)
        if deferred is None:
            return False
        deferred.count += n
        return True

    def flush(self) -> None:
        """Write everything queued so far."""
        with self._cv:
            last = self._next_ticket - 1
        self._flush_through(last)

    def _enqueue(self, events: list[AuditEvent], *, wait: bool = False) -> int:
        ts_us = int(self._clock() * 1_000_000)
        encoded = [(e.kind, e.session, e.principal, canonical_json(e.payload())) for e in events]
        with self._cv:
            if wait and len(events) == 1:
                self._waiting.add(self._next_ticket)
            for kind, session, principal, payload in encoded:
                self._pending.append((self._next_ticket, ts_us, kind, session, principal, payload))
                self._next_ticket += 1
            return self._next_ticket - 1

    def _after_queue(self) -> None:
        if len(self._pending) >= self._max_batch:  # an atomic read; a stale answer only delays
            self.flush()
        elif self._thread is None:
            self._start_flusher()

    def _flush_through(self, ticket: int) -> None:
        with self._flush_lock:
            if self._written_ticket >= ticket:
                return
            with self._cv:
                batch, self._pending = self._pending, []
            if not batch:
                return
            try:
                seqs = self._write(batch)
            except BaseException:
                with self._cv:  # keep the records, in order, for the next attempt
                    self._pending = batch + self._pending
                raise
            with self._cv:
                self._written_ticket = batch[-1][0]
                self._seqs.update((t, s) for t, s in seqs.items() if t in self._waiting)

    def _write(self, batch: list[_Pending]) -> dict[int, int]:
        try:
            with self.store.write() as conn:
                return self._insert(conn, batch)
        except sqlite3.Error as exc:
            raise StoreError(f"audit log {self.store.path}: write failed: {exc}") from exc

    def _insert(self, conn: sqlite3.Connection, batch: list[_Pending]) -> dict[int, int]:
        """Chain and insert ``batch`` inside the caller's write transaction; ticket -> seq."""
        seqs: dict[int, int] = {}
        row = conn.execute("SELECT seq, hash FROM audit_head WHERE id = 1").fetchone()
        seq, prev = (int(row[0]), str(row[1])) if row else (0, GENESIS)
        rows = []
        link = self._chain.hash
        for ticket, ts_us, kind, session, principal, payload in batch:
            seq += 1
            digest = link(prev, seq, ts_us, kind, session, principal, payload)
            rows.append((seq, ts_us, kind, session, principal, payload, prev, digest))
            seqs[ticket] = seq
            prev = digest
        conn.executemany(_INSERT, rows)
        conn.execute(_HEAD, (seq, prev, self._chain.alg))
        return seqs

    @contextmanager
    def transaction(self) -> Iterator[AuditTransaction]:
        """A write transaction on the store whose audit events commit atomically with it.

        Use ``tx.conn`` for the state change and ``tx.append(event)`` for its events: both are
        committed together, or neither is. Queued records are written first, in order. Do not
        call :meth:`append` inside (it would wait for this transaction).
        """
        with self._flush_lock:
            with self._cv:
                batch, self._pending = self._pending, []
            try:
                with self.store.write() as conn:
                    tx = AuditTransaction(conn, self._clock)
                    yield tx
                    self._insert(conn, batch + tx.pending)
            except BaseException as exc:
                with self._cv:  # keep the queued records for the next attempt
                    self._pending = batch + self._pending
                if isinstance(exc, sqlite3.Error):
                    raise StoreError(f"store {self.store.path}: {exc}") from exc
                raise
            if batch:
                with self._cv:
                    self._written_ticket = batch[-1][0]

    def _start_flusher(self) -> None:
        with self._cv:
            if self._thread is not None:
                return
            self._thread = threading.Thread(
                target=self._run_flusher, name="ringfence-audit-flush", daemon=True
            )
            self._thread.start()

    def _run_flusher(self) -> None:
        while not self._stop.wait(self._flush_interval):
            try:
                self.flush()
            except Exception:  # records stay queued; retried on the next tick or at close
                log.exception("audit flush failed; will retry")

    def close(self) -> None:
        """Stop the background flusher and write everything queued."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)
        try:
            self.flush()
        except StoreError:
            if self._pending:
                log.exception("audit log: %d records could not be written", len(self._pending))
                raise

    # --- reading ---------------------------------------------------------------------------

    def records(
        self, *, session: str | None = None, since_seq: int = 0, kinds: Iterable[str] = ()
    ) -> Iterator[AuditRecord]:
        """Committed records in order (call :meth:`flush` first to include queued ones)."""
        return read_records(self.store, session=session, since_seq=since_seq, kinds=kinds)

    def head(self) -> tuple[int, str]:
        """(last sequence number, its hash): export it elsewhere to anchor the chain."""
        with self.store.read() as conn:
            row = conn.execute("SELECT seq, hash FROM audit_head WHERE id = 1").fetchone()
        return (int(row[0]), str(row[1])) if row else (0, GENESIS)


class AuditTransaction:
    """The inside of :meth:`AuditLog.transaction`: a connection and an event buffer."""

    def __init__(self, conn: sqlite3.Connection, clock: Callable[[], float]) -> None:
        self.conn = conn
        self.pending: list[_Pending] = []
        self._clock = clock

    def append(self, event: AuditEvent) -> None:
        ts_us = int(self._clock() * 1_000_000)
        payload = canonical_json(event.payload())
        self.pending.append((-1, ts_us, event.kind, event.session, event.principal, payload))


def _close_at_exit(ref: weakref.ref[AuditLog]) -> None:
    log_ = ref()
    if log_ is not None:
        log_.close()


def read_records(
    store: SqliteStore,
    *,
    session: str | None = None,
    since_seq: int = 0,
    kinds: Iterable[str] = (),
    limit: int | None = None,
    newest_first: bool = False,
) -> Iterator[AuditRecord]:
    import json

    sql = "SELECT seq, ts_us, kind, session, principal, payload, prev_hash, hash FROM audit_events"
    where, params = ["seq > ?"], [since_seq]
    if session is not None:
        where.append("session = ?")
        params.append(session)  # type: ignore[arg-type]
    kinds = list(kinds)
    if kinds:
        where.append(f"kind IN ({','.join('?' * len(kinds))})")
        params.extend(kinds)  # type: ignore[arg-type]
    sql += " WHERE " + " AND ".join(where) + f" ORDER BY seq {'DESC' if newest_first else 'ASC'}"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    with store.read() as conn:
        rows = conn.execute(sql, params).fetchall()
    for row in rows:
        yield AuditRecord(
            int(row[0]), int(row[1]), row[2], row[3], row[4], json.loads(row[5]), row[6], row[7]
        )
