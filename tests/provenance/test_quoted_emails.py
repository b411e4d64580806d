"""An e-mail address in quotes ('bob@x.org') is the address, not 'bob@x.org with a quote."""

from __future__ import annotations

from ringfence.approval import locate
from ringfence.provenance import ContentItem, Label, ValueOriginIndex, canonical_email


def test_a_quoted_address_in_prose_is_found() -> None:
    prompt = "Send an email to my wife at 'janeLong@google.com', use the title 'Hotel'"
    index = ValueOriginIndex([ContentItem("c1", Label("user", True), prompt)])
    assert index.lookup("janeLong@google.com")[0].status == "trusted"
    assert index.lookup(["`bob@x.org`"])[0].status == "unknown"
    assert locate("janelong@google.com", prompt) == [(29, 48)]


def test_canonical_email_ignores_surrounding_quotes() -> None:
    assert canonical_email("'Bob@X.org'") == "bob@x.org"
    assert canonical_email("`bob@x.org`") == "bob@x.org"
