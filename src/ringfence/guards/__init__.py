"""Guards: checks on what goes into the model and what comes out of it.

A guard returns findings; a pipeline (declared per direction in the policy's ``guards:`` section)
runs its guards concurrently under a deadline and maps findings to a verdict (``pass``, ``flag``,
``block``, ``error``) with the policy's thresholds and actions. Errors and timeouts fail closed.
In a gateway session, flagged content taints the values that come from it.

``GuardEvent``, ``ContentScreen`` and ``direction_of`` are loaded on first use: they need the audit
package, which (through the store) needs the policy package, which imports this package's config.
"""

import importlib
from typing import TYPE_CHECKING, Any

from ringfence.guards._boundary import SizeGuard, estimate_tokens
from ringfence.guards._config import GuardSpec, GuardsSpec, LowConfidenceSpec
from ringfence.guards._encoding import EncodingGuard, Payload, find_payloads
from ringfence.guards._injection import Detector, InjectionGuard, load_detector
from ringfence.guards._output import (
    AllowlistGuard,
    CanaryGuard,
    ExfilGuard,
    RefusalGuard,
    carries_data,
    embed_canary,
    host_allowed,
    is_refusal,
    make_canary,
    refusal_score,
    tool_names,
    url_allowed,
)
from ringfence.guards._pii import (
    PII_KINDS,
    PiiGuard,
    PiiKind,
    PiiMatch,
    PiiRedactor,
    Redaction,
    find_pii,
    iban_ok,
    luhn_ok,
    redact_pii,
    restore_pii,
)
from ringfence.guards._pipeline import (
    GuardPipeline,
    GuardStep,
    build_pipeline,
    default_guards,
)
from ringfence.guards._registry import (
    ENTRY_POINT_GROUP,
    create_guard,
    guard,
    registered_guards,
)
from ringfence.guards._schema import OutputValidator, SchemaGuard, areask, reask
from ringfence.guards._secrets import SecretsGuard, shannon_entropy
from ringfence.guards._spotlight import (
    Spotlighted,
    SpotlightMode,
    boundary_token,
    datamark,
    delimit,
    encode_base64,
    spotlight,
)
from ringfence.guards._types import (
    Action,
    Direction,
    Finding,
    Guard,
    GuardReport,
    GuardResult,
    GuardVerdict,
    OnError,
)
from ringfence.guards._unicode import UnicodeGuard, decode_tags, normalize_unicode

if TYPE_CHECKING:
    from ringfence.guards._events import GuardEvent
    from ringfence.guards._flow import ContentScreen, direction_of

_LAZY = {
    "GuardEvent": "ringfence.guards._events",
    "ContentScreen": "ringfence.guards._flow",
    "direction_of": "ringfence.guards._flow",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


__all__ = [
    "ENTRY_POINT_GROUP",
    "PII_KINDS",
    "Action",
    "AllowlistGuard",
    "CanaryGuard",
    "ContentScreen",
    "Detector",
    "Direction",
    "EncodingGuard",
    "ExfilGuard",
    "Finding",
    "Guard",
    "GuardEvent",
    "GuardPipeline",
    "GuardReport",
    "GuardResult",
    "GuardSpec",
    "GuardStep",
    "GuardVerdict",
    "GuardsSpec",
    "InjectionGuard",
    "LowConfidenceSpec",
    "OnError",
    "OutputValidator",
    "Payload",
    "PiiGuard",
    "PiiKind",
    "PiiMatch",
    "PiiRedactor",
    "Redaction",
    "RefusalGuard",
    "SchemaGuard",
    "SecretsGuard",
    "SizeGuard",
    "SpotlightMode",
    "Spotlighted",
    "UnicodeGuard",
    "areask",
    "boundary_token",
    "build_pipeline",
    "carries_data",
    "create_guard",
    "datamark",
    "decode_tags",
    "default_guards",
    "delimit",
    "direction_of",
    "embed_canary",
    "encode_base64",
    "estimate_tokens",
    "find_payloads",
    "find_pii",
    "guard",
    "host_allowed",
    "iban_ok",
    "is_refusal",
    "load_detector",
    "luhn_ok",
    "make_canary",
    "normalize_unicode",
    "reask",
    "redact_pii",
    "refusal_score",
    "registered_guards",
    "restore_pii",
    "shannon_entropy",
    "spotlight",
    "tool_names",
    "url_allowed",
]
