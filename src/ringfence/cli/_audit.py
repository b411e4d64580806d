"""``ringfence audit``: verify and read the audit log."""

from __future__ import annotations

import sqlite3
import sys
import time

import click

from ringfence.audit import AuditRecord, read_records, verify_chain
from ringfence.audit._chain import key_from_env
from ringfence.cli._common import EXIT_USAGE, echo_json
from ringfence.exceptions import RingfenceError
from ringfence.store import SqliteStore


@click.group("audit")
def audit_group() -> None:
    """Verify and read the hash-chained audit log."""


@audit_group.command("verify")
@click.option("--db", required=True, type=click.Path(dir_okay=False), help="Store file.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def verify(db: str, as_json: bool) -> None:
    """Exit 0 when the chain is intact; 1 naming the first bad record; 2 if unreadable.

    A keyed log (HMAC) needs RINGFENCE_AUDIT_KEY set to the key it was written with.
    """
    try:
        result = verify_chain(db, key_from_env())
    except (OSError, sqlite3.Error) as exc:
        click.echo(f"error: cannot read {db}: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    if as_json:
        echo_json({"ok": result.ok, "records": result.records,
                   "first_bad_seq": result.first_bad_seq, "message": result.message,
                   "algorithm": result.algorithm})  # fmt: skip
    else:
        click.echo(("ok: " if result.ok else "TAMPERED: ") + result.message)
    sys.exit(0 if result.ok else 1)


def _show(rec: AuditRecord, as_json: bool) -> None:
    if as_json:
        echo_json(rec.to_dict())
        return
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(rec.ts))
    body = ", ".join(f"{k}={v!r}" for k, v in rec.payload.items() if k != "text")
    if "text" in rec.payload:
        body = f"text={str(rec.payload['text'])[:80]!r}, " + body
    click.echo(f"{rec.seq:>7} {stamp} {rec.kind:<14} {rec.session or '-':<14} {body}")


@audit_group.command("tail")
@click.option(
    "--db", required=True, type=click.Path(dir_okay=False, exists=True), help="Store file."
)
@click.option("-n", "count", default=20, show_default=True, help="How many records.")
@click.option("--session", default=None, help="Only this session.")
@click.option("--kind", "kinds", multiple=True, help="Only these kinds (repeatable).")
@click.option("--follow", "-f", is_flag=True, help="Keep printing new records.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per record.")
def tail(db: str, count: int, session: str | None, kinds: tuple[str, ...], follow: bool,
         as_json: bool) -> None:  # fmt: skip
    """Print the last records of the audit log."""
    try:
        store = SqliteStore(db)
    except RingfenceError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    with store:
        recent = list(
            read_records(store, session=session, kinds=kinds, limit=count, newest_first=True)
        )
        newest = list(read_records(store, limit=1, newest_first=True))
        last = newest[0].seq if newest else 0
        for rec in reversed(recent):
            _show(rec, as_json)
        while follow:
            time.sleep(0.5)
            for rec in read_records(store, session=session, kinds=kinds, since_seq=last):
                _show(rec, as_json)
                last = rec.seq
