"""Secrets: API keys of common providers, tokens, private keys, credentials in URLs and
assignments, and high-entropy strings.

Every pattern has literal pre-checks (``"AKIA" in text`` before the AWS regex): on ordinary text
almost no regex runs. High-entropy strings alone score 0.45 (below the default threshold: hashes,
ids and base64 data are common); next to a word such as ``key``, ``token`` or ``secret`` they score
0.8. Placeholders (``<your-key>``, ``****``, ``${TOKEN}``) are ignored.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from ringfence.guards._registry import guard
from ringfence.guards._types import Action, Finding
from ringfence.provenance import Label


@dataclass(frozen=True)
class SecretPattern:
    """A secret format: the literals one of which must occur (in ``text``, or lower-cased text
    when ``lower``), the regex (group 1, if any, is the secret), and a score."""

    kind: str
    literals: tuple[str, ...]
    regex: re.Pattern[str]
    score: float = 1.0
    lower: bool = False


def _p(
    kind: str, literals: tuple[str, ...], regex: str, score: float = 1.0, lower: bool = False
) -> SecretPattern:
    return SecretPattern(kind, literals, re.compile(regex), score, lower)


PATTERNS: tuple[SecretPattern, ...] = (
    _p("aws_access_key", ("AKIA", "ASIA"), r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    _p(
        "aws_secret_key",
        ("aws",),
        r"(?i)aws.{0,24}?(?:secret|key).{0,24}?[\s'\"=:]([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+])",
        0.9,
        lower=True,
    ),
    _p(
        "github_token",
        ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
        r"\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b",
    ),
    _p("gitlab_token", ("glpat-",), r"\bglpat-[A-Za-z0-9_\-]{20,}"),
    _p("slack_token", ("xox",), r"\bxox[abposr]-[A-Za-z0-9\-]{10,}"),
    _p(
        "slack_webhook",
        ("hooks.slack.com",),
        r"https://hooks\.slack\.com/services/[A-Za-z0-9/]{20,}",
    ),
    _p("stripe_key", ("_live_", "_test_"), r"\b[sr]k_(?:live|test)_[0-9A-Za-z]{16,}"),
    _p("google_api_key", ("AIza",), r"\bAIza[0-9A-Za-z_\-]{35}(?![0-9A-Za-z_\-])"),
    _p("anthropic_key", ("sk-ant-",), r"\bsk-ant-[A-Za-z0-9_\-]{20,}"),
    _p("openai_key", ("sk-",), r"\bsk-(?!ant-)(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,}"),
    _p("huggingface_token", ("hf_",), r"\bhf_[A-Za-z0-9]{30,}\b"),
    _p("npm_token", ("npm_",), r"\bnpm_[A-Za-z0-9]{36}\b"),
    _p("pypi_token", ("pypi-",), r"\bpypi-AgE[A-Za-z0-9_\-]{50,}"),
    _p("sendgrid_key", ("SG.",), r"\bSG\.[A-Za-z0-9_\-]{22}\.[A-Za-z0-9_\-]{43}\b"),
    _p("jwt", ("eyJ",), r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}", 0.9),
    _p("private_key", ("PRIVATE KEY",), r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"),
    _p("bearer_token", ("bearer",), r"(?i)\bbearer\s+([A-Za-z0-9_\-.=:+/]{20,})", 0.8, lower=True),
    _p(
        "url_credentials", ("://",), r"\b[a-z][a-z0-9+\-.]*://[^\s/:@]{1,64}:([^\s/@]{3,128})@", 0.9
    ),
    _p(
        "credential_assignment",
        (
            "password",
            "passwd",
            "pwd",
            "secret",
            "api_key",
            "apikey",
            "api-key",
            "token",
            "access_key",
            "private_key",
        ),
        r"(?i)\b(?:password|passwd|pwd|secret|api[_\-]?key|access[_\-]?key|private[_\-]?key"
        r"|auth[_\-]?token|token)\b['\"]?\s*[:=]\s*['\"]?([^\s'\",;]{8,})",
        0.7,
        lower=True,
    ),
)

_ENTROPIC = re.compile(r"(?<![A-Za-z0-9+/_\-])[A-Za-z0-9+/_\-]{24,}={0,2}(?![A-Za-z0-9+/_\-])")
_HEXY = re.compile(r"^[0-9a-fA-F\-]+$")
_KEYWORD = re.compile(r"(?i)(?:key|token|secret|passw|auth|credential|bearer|api)")
_PLACEHOLDER = re.compile(r"(?i)[<>{}$*]|x{4,}|your|example|placeholder|changeme|redacted|\.\.\.")


def shannon_entropy(s: str) -> float:
    """Bits per character of ``s``."""
    if not s:
        return 0.0
    n = len(s)
    return -sum(c / n * math.log2(c / n) for c in Counter(s).values())


def _is_placeholder(value: str) -> bool:
    return bool(_PLACEHOLDER.search(value)) or len(set(value)) <= 3


def _classes(s: str) -> int:
    return sum(
        (any(c.isupper() for c in s), any(c.islower() for c in s), any(c.isdigit() for c in s))
    )


@guard(name="secrets")
class SecretsGuard:
    """Finds secrets; ``rewrite`` replaces each with ``[REDACTED:kind]``."""

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")
        entropy: bool = True
        """Also report high-entropy strings (0.45 alone, 0.8 next to a keyword)."""
        min_entropy: float = Field(default=4.0, gt=0.0)
        """Bits per character a string of 24+ characters needs to count as high-entropy."""

    default_action: ClassVar[Action] = "block"
    inline: bool = True  # bounded CPU work, no I/O: may run in the calling thread
    threshold: float = 0.5

    def __init__(self, entropy: bool = True, min_entropy: float = 4.0) -> None:
        self.name = "secrets"
        self.entropy = entropy
        self.min_entropy = min_entropy

    def check(self, text: str, label: Label) -> Sequence[Finding]:
        found = list(self._patterns(text))
        if self.entropy and len(text) >= 24:
            taken = [f.span for f in found if f.span]
            found.extend(self._entropic(text, taken))
        return found

    def rewrite(self, text: str) -> str:
        spans = sorted(
            (f.span, f.kind) for f in self.check(text, _ANY) if f.span and f.score >= self.threshold
        )
        out, pos = [], 0
        for (start, end), kind in spans:
            if start < pos:
                continue
            out.append(text[pos:start] + f"[REDACTED:{kind.removeprefix('secret.')}]")
            pos = end
        return "".join(out) + text[pos:]

    def _patterns(self, text: str) -> Iterator[Finding]:
        lowered: str | None = None
        for pat in PATTERNS:
            if pat.lower:
                lowered = lowered if lowered is not None else text.lower()
                haystack = lowered
            else:
                haystack = text
            if not any(lit in haystack for lit in pat.literals):
                continue
            for m in pat.regex.finditer(text):
                group = 1 if pat.regex.groups else 0
                if pat.regex.groups and _is_placeholder(m.group(1)):
                    continue
                if pat.kind == "credential_assignment" and m.group(1).isalpha():
                    continue  # "password: required", "token = None"
                yield Finding(
                    self.name,
                    f"secret.{pat.kind}",
                    pat.score,
                    m.span(group),
                    f"looks like a {pat.kind.replace('_', ' ')}",
                )

    def _entropic(self, text: str, taken: list[tuple[int, int]]) -> Iterator[Finding]:
        for m in _ENTROPIC.finditer(text):
            value = m.group().rstrip("=")
            start, end = m.span()
            if any(a < end and start < b for a, b in taken) or _is_placeholder(value):
                continue
            hexy = bool(_HEXY.match(value))
            if _classes(value) < 2 or (
                hexy and not _KEYWORD.search(text, max(0, start - 40), start)
            ):
                continue  # words, identifiers, hashes and uuids without a keyword nearby
            bits = shannon_entropy(value)
            if bits < (3.0 if hexy else self.min_entropy):
                continue
            near = _KEYWORD.search(text, max(0, start - 40), start) is not None
            yield Finding(
                self.name,
                "secret.high_entropy",
                0.8 if near else 0.45,
                (start, end),
                f"high-entropy string ({bits:.1f} bits/char)",
            )


_ANY = Label("any", False)
