"""Secrets detection: true and false cases."""

from __future__ import annotations

import pytest

from ringfence.guards import SecretsGuard, shannon_entropy
from ringfence.provenance import Label

OUT = Label("assistant", False)

# Built from pieces so the test file itself does not look like it leaks keys.
GH = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
OPENAI = "sk-proj-" + "Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z"


def kinds(text: str, **kw) -> dict[str, float]:
    return {f.kind: f.score for f in SecretsGuard(**kw).check(text, OUT)}


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("key AKIA" + "IOSFODNN7EXAMPLQ", "secret.aws_access_key"),
        ("token: " + GH, "secret.github_token"),
        ("export OPENAI_API_KEY=" + OPENAI, "secret.openai_key"),
        ("sk-ant-" + "api03-" + "x9Y8w7V6u5T4s3R2q1P0o9N8", "secret.anthropic_key"),
        ("xoxb-" + "1234567890-abcdefghij", "secret.slack_token"),
        ("sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc", "secret.stripe_key"),
        ("AIza" + "SyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY", "secret.google_api_key"),
        ("hf_" + "abcdefghijklmnopqrstuvwxyzABCDEFGH", "secret.huggingface_token"),
        ("-----BEGIN RSA PRIVATE KEY-----\nMIIE...", "secret.private_key"),
        ("-----BEGIN OPENSSH PRIVATE KEY-----", "secret.private_key"),
        ("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
         "secret.jwt"),
        ("Authorization: Bearer " + "abcDEF123456ghiJKL789mno", "secret.bearer_token"),
        ("postgres://admin:" + "s3cr3tPass" + "@db.internal:5432/app", "secret.url_credentials"),
        ("password = 'hunter2hunter2!'", "secret.credential_assignment"),
    ],
)  # fmt: skip
def test_known_formats_are_found(text, kind):
    found = kinds(text)
    assert kind in found
    assert found[kind] >= 0.5


@pytest.mark.parametrize(
    "text",
    [
        "The task-force met on Tuesday to discuss the sk-learn migration.",
        "Set password: <your password here> and token = None.",
        "password: required; api_key = ${API_KEY}; secret=********",
        "Commit 3f2a9c1e8b7d6a5f4e3d2c1b0a9f8e7d6c5b4a39 fixed it.",
        "Request id 123e4567-e89b-12d3-a456-426614174000 failed.",
        "See https://docs.example.com/guides/getting-started/installation-and-configuration",
        "Our internationalization_and_localization_framework is great.",
        "Bearer tokens are explained in RFC 6750.",
    ],
)
def test_ordinary_text_is_not_a_secret(text):
    assert {k: s for k, s in kinds(text).items() if s >= 0.5} == {}


def test_high_entropy_alone_is_informational_but_near_a_keyword_it_counts():
    blob = "Zx8Qp2Lm7Rt4Wv9Ks3Hd6Nf1Bc5Gj0Ya"
    assert kinds(f"value {blob} here")["secret.high_entropy"] < 0.5
    assert kinds(f"my api key is {blob}")["secret.high_entropy"] >= 0.8
    assert "secret.high_entropy" not in kinds(f"value {blob}", entropy=False)


def test_rewrite_redacts_secrets():
    text = "use " + GH + " and AKIA" + "IOSFODNN7EXAMPLQ please"
    assert SecretsGuard().rewrite(text) == (
        "use [REDACTED:github_token] and [REDACTED:aws_access_key] please"
    )


def test_entropy():
    assert shannon_entropy("") == 0.0
    assert shannon_entropy("aaaa") == 0.0
    assert shannon_entropy("abcd") == pytest.approx(2.0)
