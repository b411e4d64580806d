"""The audit log: a hash-chained, append-only record of every step of the flow."""

from ringfence.audit._chain import GENESIS, Chain, canonical_json
from ringfence.audit._events import (
    EVENT_TYPES,
    AuditEvent,
    AuditRecord,
    CallProposedEvent,
    ContentEvent,
    DecisionEvent,
    ErrorEvent,
    EventKind,
    ExecutionEvent,
    GenericEvent,
    event_kind,
)
from ringfence.audit._log import AuditLog, AuditTransaction, Deferred, read_records
from ringfence.audit._verify import VerifyResult, verify_chain

__all__ = [
    "EVENT_TYPES",
    "GENESIS",
    "AuditEvent",
    "AuditLog",
    "AuditRecord",
    "AuditTransaction",
    "CallProposedEvent",
    "Chain",
    "ContentEvent",
    "DecisionEvent",
    "Deferred",
    "ErrorEvent",
    "EventKind",
    "ExecutionEvent",
    "GenericEvent",
    "VerifyResult",
    "canonical_json",
    "event_kind",
    "read_records",
    "verify_chain",
]
