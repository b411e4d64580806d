"""Human checkpoints and reversible actions: approval requests, approvers and their tokens,
the approval queue (blocking or resumable), staged changes, soft deletes, the blast-radius
report and the approver web page (:func:`create_app`)."""

from ringfence.approval._approvers import (
    TOKEN_PREFIX,
    Approver,
    TokenInfo,
    create_token,
    list_approvers,
    list_tokens,
    revoke_token,
    sync_approvers,
    verify_token,
)
from ringfence.approval._events import ApprovalEvent, StagedEvent
from ringfence.approval._provenance import FrozenOrigins, locate
from ringfence.approval._queue import ApprovalQueue, ApprovalSettings, settings_for
from ringfence.approval._records import (
    ApprovalRequest,
    ApprovalState,
    Transition,
    Vote,
    VoteDecision,
)
from ringfence.approval._softdelete import SoftDeleted, SoftDeletes
from ringfence.approval._staging import StagedChange, StagedState, StagingArea
from ringfence.approval._stats import approval_stats
from ringfence.approval._web import create_app

__all__ = [
    "TOKEN_PREFIX",
    "ApprovalEvent",
    "ApprovalQueue",
    "ApprovalRequest",
    "ApprovalSettings",
    "ApprovalState",
    "Approver",
    "FrozenOrigins",
    "SoftDeleted",
    "SoftDeletes",
    "StagedChange",
    "StagedEvent",
    "StagedState",
    "StagingArea",
    "TokenInfo",
    "Transition",
    "Vote",
    "VoteDecision",
    "approval_stats",
    "create_app",
    "create_token",
    "list_approvers",
    "list_tokens",
    "locate",
    "revoke_token",
    "settings_for",
    "sync_approvers",
    "verify_token",
]
