"""The hash chain: each record's hash covers its columns and the previous record's hash.

``hash_n = H(prev_hash || LF || json([seq, ts_us, kind, session, principal]) || LF || payload)``
with H = SHA-256, or HMAC-SHA-256 under a secret key (``RINGFENCE_AUDIT_KEY``) so that someone who
can write the database but does not hold the key cannot rebuild a consistent chain.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from typing import Any, Literal

import orjson

GENESIS = "0" * 64
Algorithm = Literal["sha256", "hmac-sha256"]


_CANONICAL = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
)


_ORJSON_OPTS = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS


def canonical_json(payload: Any) -> str:
    """Deterministic JSON: sorted keys, no spaces, UTF-8, non-JSON values as their ``str``.

    The chain hashes the stored text, so verification never re-serialises; the stdlib encoder
    is the fallback for values orjson refuses (e.g. integers beyond 64 bits)."""
    try:
        return orjson.dumps(payload, option=_ORJSON_OPTS, default=str).decode()
    except TypeError:
        return _CANONICAL.encode(payload)


def key_from_env() -> bytes | None:
    key = os.environ.get("RINGFENCE_AUDIT_KEY")
    return key.encode() if key else None


class Chain:
    """Computes record hashes with or without a key."""

    def __init__(self, key: bytes | None = None) -> None:
        self.key = key
        self.alg: Algorithm = "hmac-sha256" if key else "sha256"

    def hash(
        self,
        prev_hash: str,
        seq: int,
        ts_us: int,
        kind: str,
        session: str | None,
        principal: str | None,
        payload: str,
    ) -> str:
        head = orjson.dumps([seq, ts_us, kind, session, principal]).decode()
        data = f"{prev_hash}\n{head}\n{payload}".encode()
        if self.key is not None:
            return hmac.new(self.key, data, hashlib.sha256).hexdigest()
        return hashlib.sha256(data).hexdigest()
