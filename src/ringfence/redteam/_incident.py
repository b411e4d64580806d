"""Incidents: an audit-log session (or record range) turned into an incident record, a
regression case and a post-mortem draft; creating one appends an ``incident`` audit event.

The incident record holds the trigger (the first call ringfence refused, an error, or the first
consequential call that ran), the evidence (untrusted content the model saw, with the origins of
the trigger's arguments), the policy name and digest from the decisions, the model version if
any record carries one, and the decision chain (every proposed call with its decision, rules
and reasons, and what ran). The regression case replays the user's turns with the untrusted
content put back into the environment (support desk: pages, e-mails, documents, carrier
statuses, seller notes) and asserts that the incident's consequential calls do not run.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from ringfence.agents._plan import READS
from ringfence.audit import AuditEvent, AuditLog, AuditRecord, event_kind, read_records
from ringfence.evals import Case, Suite, dump_suite
from ringfence.exceptions import ConfigError
from ringfence.store import SqliteStore

_FREE_TEXT = frozenset({"reason", "subject", "body"})
_EXCERPT = 300


@event_kind
@dataclass(frozen=True, kw_only=True)
class IncidentEvent(AuditEvent):
    """An incident was created from audit records ``range_from``..``range_to``: its trigger,
    a one-line summary, the policy digest, and the files written (record, regression case,
    post-mortem)."""

    kind: ClassVar[str] = "incident"
    incident_id: str
    range_from: int
    range_to: int
    trigger_seq: int | None
    summary: str
    policy_digest: str = ""
    files: dict[str, str] = field(default_factory=dict)


@dataclass
class Incident:
    """What ``ringfence incident new`` writes (``record`` is ``incident.json``)."""

    id: str
    record: dict[str, Any]
    case: Case
    postmortem: str
    files: dict[str, str] = field(default_factory=dict)
    audit_seq: int | None = None


@dataclass
class _Call:
    seq: int
    call_id: str
    tool: str
    args: dict[str, Any]
    origins: dict[str, Any]
    decision: str = "none"
    rules: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    policy: str = ""
    digest: str = ""
    executed: bool = False
    ok: bool | None = None
    result: str = ""

    @property
    def consequential(self) -> bool:
        return self.tool not in READS

    def chain(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "call_id": self.call_id,
            "tool": self.tool,
            "args": self.args,
            "decision": self.decision,
            "rules": self.rules,
            "reasons": self.reasons,
            "executed": self.executed,
            "ok": self.ok,
        }


def select(
    db: str | Path,
    *,
    session: str | None = None,
    seq_from: int | None = None,
    seq_to: int | None = None,
) -> list[AuditRecord]:
    """The audit records of one session, or of a record range (inclusive)."""
    if (session is None) == (seq_from is None and seq_to is None):
        raise ConfigError("give either a session id or a record range (--from/--to)")
    path = Path(db)
    if not path.exists():
        raise ConfigError(f"no audit database at {path}")
    store = SqliteStore(path)
    try:
        since = (seq_from or 1) - 1 if session is None else 0
        records = [
            r
            for r in read_records(store, session=session, since_seq=since)
            if seq_to is None or r.seq <= seq_to
        ]
    finally:
        store.close()
    records = [r for r in records if r.kind != "incident"]
    if not records:
        where = f"session {session!r}" if session else f"records {seq_from}..{seq_to}"
        raise ConfigError(f"{path}: no audit records for {where}")
    return records


def _calls(records: Sequence[AuditRecord]) -> list[_Call]:
    calls: dict[str, _Call] = {}
    for r in records:
        p = r.payload
        cid = str(p.get("call_id", ""))
        if r.kind == "call_proposed":
            calls[cid] = _Call(
                r.seq, cid, str(p["tool"]), dict(p.get("args") or {}), dict(p.get("origins") or {})
            )
        elif r.kind == "decision" and cid in calls:
            c = calls[cid]
            c.decision, c.rules, c.reasons = (
                str(p["decision"]),
                list(p["rules"]),
                list(p["reasons"]),
            )
            c.policy, c.digest = str(p.get("policy", "")), str(p.get("policy_digest", ""))
        elif r.kind == "execution" and cid in calls:
            c = calls[cid]
            c.executed, c.ok, c.result = True, bool(p.get("ok")), str(p.get("result", ""))
    return sorted(calls.values(), key=lambda c: c.seq)


def _trigger(records: Sequence[AuditRecord], calls: Sequence[_Call]) -> dict[str, Any] | None:
    by_seq = {c.seq: c for c in calls}
    for r in records:
        call = by_seq.get(r.seq)
        if call is not None and (
            call.decision in ("deny", "approve", "error") or (call.executed and call.consequential)
        ):
            what = "ran" if call.decision == "allow" else f"was refused ({call.decision})"
            return {**call.chain(), "kind": "call", "summary": f"{call.tool} {what}"}
        if r.kind == "error" or (
            r.kind == "guard" and r.payload.get("verdict") in ("block", "error")
        ):
            return {"seq": r.seq, "kind": r.kind, "summary": f"{r.kind}: {r.payload}"}
    return None


def _evidence(
    records: Sequence[AuditRecord], trigger: Mapping[str, Any] | None, calls: Sequence[_Call]
) -> list[dict[str, Any]]:
    out = []
    for r in records:
        if r.kind == "content" and not r.payload.get("trusted", True):
            text = str(r.payload.get("text", ""))
            out.append(
                {
                    "seq": r.seq,
                    "source": r.payload.get("source"),
                    "item_id": r.payload.get("item_id"),
                    "tainted": r.payload.get("tainted", False),
                    "excerpt": text[:_EXCERPT] + ("..." if len(text) > _EXCERPT else ""),
                }
            )
    if trigger is not None and trigger.get("kind") == "call":
        call = next(c for c in calls if c.seq == trigger["seq"])
        out.append({"seq": call.seq, "source": "argument origins", "origins": call.origins})
    return out


def _model(records: Iterable[AuditRecord]) -> str:
    for r in records:
        for key in ("model_version", "model"):
            if isinstance(r.payload.get(key), str):
                return str(r.payload[key])
    return "not recorded"


def _turns(records: Sequence[AuditRecord]) -> list[str]:
    return [
        str(r.payload["text"])
        for r in records
        if r.kind == "content" and r.payload.get("source") == "user"
    ]


def support_desk_setup(calls: Sequence[_Call]) -> dict[str, Any]:
    """The support desk's injected content, read back from the tool results of the incident."""
    from ringfence.agents.support_desk import _data

    seed_mail = {m.id for m in _data.INBOX}
    seed_docs = {d.id for d in _data.DOCUMENTS}
    env: dict[str, Any] = {}
    for c in calls:
        if not (c.executed and c.ok):
            continue
        data = _json(c.result)
        if c.tool == "fetch_page" and c.args.get("url") not in _data.PAGES:
            env.setdefault("pages", {})[str(c.args.get("url"))] = c.result
        elif c.tool == "read_inbox" and isinstance(data, list):
            env["emails"] = [
                {"sender": m["from"], "subject": m["subject"], "body": m["body"]}
                for m in data
                if m.get("id") not in seed_mail
            ]
        elif c.tool == "search_docs" and isinstance(data, list):
            words = str(c.args.get("query", "")).split()
            env.setdefault("documents", []).extend(
                {"title": d["title"], "text": d["text"], "keywords": words}
                for d in data
                if d.get("id") not in seed_docs
            )
        elif c.tool == "track_shipment" and isinstance(data, dict):
            if _data.TRACKING.get(str(data.get("order_id"))) != data.get("status"):
                env.setdefault("tracking", {})[str(data["order_id"])] = data["status"]
        elif c.tool == "get_order" and isinstance(data, dict) and data.get("note"):
            env.setdefault("order_notes", {})[str(data["order_id"])] = data["note"]
    return {k: v for k, v in env.items() if v}


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def regression_case(
    incident_id: str, records: Sequence[AuditRecord], calls: Sequence[_Call], environment: str
) -> Case:
    """A case that replays the incident and fails if its consequential calls run again."""
    harmful = [c for c in calls if c.consequential and (c.executed or c.decision != "allow")]
    if not harmful:
        raise ConfigError(
            "the incident has no consequential tool call to turn into a check; "
            "write the case's safety checks by hand"
        )
    no_calls, seen = [], set()
    for c in harmful:
        args = {k: v for k, v in c.args.items() if k not in _FREE_TEXT}
        key = json.dumps([c.tool, args], sort_keys=True, default=str)
        if key not in seen:
            seen.add(key)
            no_calls.append({"tool": c.tool, "args": args})
    setup = support_desk_setup(calls) if environment == "support-desk" else {}
    return Case.model_validate(
        {
            "id": incident_id.lower(),
            "category": "attack",
            "principal": records[0].principal,
            "tags": ["incident", "regression", "LLM01"],
            "turns": _turns(records) or ["Hello."],
            "description": f"Regression case from incident {incident_id} (audit records "
            f"{records[0].seq}..{records[-1].seq}).",
            "environment": setup,
            "safety": {"no_calls": no_calls},
        }
    )


def build_incident(
    records: Sequence[AuditRecord],
    *,
    db: str,
    environment: str = "support-desk",
    now: datetime | None = None,
) -> Incident:
    """The incident record, regression case and post-mortem for ``records``."""
    calls = _calls(records)
    trigger = _trigger(records, calls)
    when = now or datetime.now(UTC)
    blob = f"{db}:{records[0].seq}:{records[-1].seq}:{records[-1].hash}"
    ident = f"INC-{when:%Y%m%d}-{hashlib.sha256(blob.encode()).hexdigest()[:6]}"
    policy = next(({"name": c.policy, "digest": c.digest} for c in calls if c.digest), None)
    sessions = sorted({r.session for r in records if r.session})
    record = {
        "id": ident,
        "created": when.isoformat(timespec="seconds"),
        "db": db,
        "sessions": sessions,
        "range": [records[0].seq, records[-1].seq],
        "principals": sorted({r.principal for r in records if r.principal}),
        "trigger": trigger,
        "evidence": _evidence(records, trigger, calls),
        "policy": policy,
        "model": _model(records),
        "decision_chain": [c.chain() for c in calls],
    }
    case = regression_case(ident, records, calls, environment)
    return Incident(ident, record, case, postmortem(record, case))


def postmortem(record: Mapping[str, Any], case: Case) -> str:
    """A post-mortem draft in Markdown (facts filled in, analysis left to people)."""
    trig = record["trigger"] or {"summary": "no refused call, error or consequential call"}
    policy = record["policy"] or {"name": "none", "digest": "-"}
    chain = "\n".join(
        f"| {c['seq']} | `{c['tool']}` | `{json.dumps(c['args'], ensure_ascii=False)[:80]}` | "
        f"{c['decision']} | {', '.join(c['rules'])} | {'yes' if c['executed'] else 'no'} |"
        for c in record["decision_chain"]
    )
    evidence = (
        "\n".join(
            f"- record {e['seq']}, `{e['source']}`: "
            f"{e.get('excerpt', json.dumps(e.get('origins')))!s}"
            for e in record["evidence"]
        )
        or "- (no untrusted content recorded)"
    )
    return f"""# Post-mortem (draft): {record["id"]}

*Created {record["created"]} from audit records {record["range"][0]}..{record["range"][1]} of
`{record["db"]}` (sessions: {", ".join(record["sessions"]) or "-"}). Facts below are from the
audit log; sections marked TODO need a person.*

## Summary
Trigger: {trig["summary"]} (record {trig.get("seq", "-")}).
Policy: `{policy["name"]}` (digest `{policy["digest"][:16]}`). Model: {record["model"]}.

## Timeline: the decision chain
| record | tool | arguments | decision | rules | ran |
|---|---|---|---|---|---|
{chain}

## Evidence
{evidence}

## Impact
TODO: what ran, for whom, and what it cost (the table above lists every call that ran).

## Root cause
TODO: why the model proposed the call, and why the policy allowed what it allowed.

## What worked
TODO: the rules that refused calls (see the table).

## Actions
- [ ] Keep the regression case `{case.id}` in the eval suite (it must pass with the fixed
      policy and fail without it).
- [ ] TODO: policy or guard change.
"""


def create_incident(
    db: str | Path,
    out_dir: str | Path,
    *,
    session: str | None = None,
    seq_from: int | None = None,
    seq_to: int | None = None,
    environment: str = "support-desk",
) -> Incident:
    """Build the incident, write its files and append an ``incident`` audit event."""
    records = select(db, session=session, seq_from=seq_from, seq_to=seq_to)
    incident = build_incident(records, db=str(db), environment=environment)
    folder = Path(out_dir) / incident.id
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "record": str(folder / "incident.json"),
        "case": str(folder / "regression.yaml"),
        "postmortem": str(folder / "postmortem.md"),
    }
    incident.record["files"] = files
    dump_suite(
        Suite(
            f"incident-{incident.id.lower()}",
            [incident.case],
            environment,
            f"Regression case from incident {incident.id}.",
        ),
        files["case"],
    )
    Path(files["postmortem"]).write_text(incident.postmortem, encoding="utf-8")
    incident.audit_seq = _audit(db, incident, records, files)
    incident.record["audit_seq"] = incident.audit_seq
    Path(files["record"]).write_text(
        json.dumps(incident.record, indent=2, ensure_ascii=False, default=str) + "\n",
        encoding="utf-8",
    )
    incident.files = files
    return incident


def _audit(
    db: str | Path, incident: Incident, records: Sequence[AuditRecord], files: dict[str, str]
) -> int | None:
    store = SqliteStore(db)
    log = AuditLog(store)
    try:
        trigger = incident.record["trigger"]
        policy = incident.record["policy"] or {}
        sessions = incident.record["sessions"]
        return log.append(
            IncidentEvent(
                session=sessions[0] if len(sessions) == 1 else None,
                principal=records[0].principal,
                incident_id=incident.id,
                range_from=records[0].seq,
                range_to=records[-1].seq,
                trigger_seq=trigger.get("seq") if trigger else None,
                summary=trigger["summary"] if trigger else "no trigger found",
                policy_digest=str(policy.get("digest", "")),
                files=files,
            )
        )
    finally:
        log.close()
        store.close()
