"""``ringfence incident new``: an audit-log incident into an incident record, a regression case
and a post-mortem draft (and an ``incident`` audit event)."""

from __future__ import annotations

import json

import click

from ringfence.cli._common import handle_errors
from ringfence.redteam import create_incident


@click.group("incident")
def incident_group() -> None:
    """Incidents from the audit log."""


@incident_group.command("new")
@click.option("--db", required=True, type=click.Path(dir_okay=False), help="Audit database.")
@click.option("--session", default=None, help="The session the incident happened in.")
@click.option("--from", "seq_from", type=int, default=None, help="First audit record (seq).")
@click.option("--to", "seq_to", type=int, default=None, help="Last audit record (seq).")
@click.option(
    "--environment",
    default="support-desk",
    show_default=True,
    help="The environment the regression case runs in.",
)
@click.option("--out", type=click.Path(file_okay=False), default="incidents", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the incident record as JSON.")
@handle_errors
def incident_new(
    db: str,
    session: str | None,
    seq_from: int | None,
    seq_to: int | None,
    environment: str,
    out: str,
    as_json: bool,
) -> None:
    """Turn a session (--session) or a record range (--from/--to) into an incident."""
    incident = create_incident(
        db, out, session=session, seq_from=seq_from, seq_to=seq_to, environment=environment
    )
    if as_json:
        click.echo(json.dumps(incident.record, indent=2, ensure_ascii=False, default=str))
        return
    trigger = incident.record["trigger"]
    click.echo(f"{incident.id}: {trigger['summary'] if trigger else 'no trigger found'}")
    for name, path in incident.files.items():
        click.echo(f"  {name}: {path}")
    click.echo(f"  audit event: incident (seq {incident.audit_seq})")
