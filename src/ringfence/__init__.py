"""ringfence: the deployment-time safety layer for LLM applications and tool-using agents.

The model proposes; the deterministic layer disposes. The most used pieces are re-exported here;
each package (``ringfence.policy``, ``ringfence.gateway``, ``ringfence.provenance``,
``ringfence.audit``, ``ringfence.store``) has the rest.
"""

from ringfence._version import __version__
from ringfence.audit import AuditLog, verify_chain
from ringfence.exceptions import CallRefused, PolicyError, RingfenceError
from ringfence.gateway import CallResult, Gateway, Session
from ringfence.policy import Policy, Principal, StaticResolver, Verdict, load_policy
from ringfence.store import SqliteStore

__all__ = [
    "AuditLog",
    "CallRefused",
    "CallResult",
    "Gateway",
    "Policy",
    "PolicyError",
    "Principal",
    "RingfenceError",
    "Session",
    "SqliteStore",
    "StaticResolver",
    "Verdict",
    "__version__",
    "load_policy",
    "verify_chain",
]
