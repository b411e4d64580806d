"""The scripted models' answers: a plain summary of what each tool call of the turn did.

Summaries of fetched pages, e-mails, documents and carrier statuses quote only visible,
informational sentences (no hidden text, nothing that reads as an instruction), as a careful
model would; whether a model *acts* on instructions is decided by its mode, not here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from ringfence.agents._decode import visible_sentences
from ringfence.agents._grammar import jailbreak_marker, parse_instructions
from ringfence.agents._model import ToolCallRequest
from ringfence.agents._plan import Facts, Plan, order_line

REFUSAL = (
    "I'm sorry, but I can't help with that request. I can help with your orders, refunds, "
    "deliveries and our policies."
)
GREETING = (
    "Happy to help! You can ask me about your orders, refunds, deliveries, returns or our policies."
)
_ADDRESSED = re.compile(
    r"\b(?:assistant|ai|agent|language model|chatbot|llm|bot|model|system)\s*[:,]|"
    r"\bnote to (?:the )?(?:ai|assistant|agent|bot)\b|^\s*(?:system|assistant|ai)\b",
    re.I,
)


def compose_answer(
    calls: Sequence[tuple[ToolCallRequest, str | None]], facts: Facts, plan: Plan
) -> str:
    lines = [summarize(req, content) for req, content in calls if content is not None]
    lines.extend(dict.fromkeys(plan.notes))
    lines.extend(plan.says)
    return "\n".join(line for line in lines if line) or GREETING


def info_sentences(text: str, limit: int = 2) -> str:
    """The first visible sentences of ``text`` that are information, not instructions."""
    keep = []
    for sentence in visible_sentences(text):
        if _ADDRESSED.search(sentence) or jailbreak_marker(sentence):
            continue
        if parse_instructions(sentence, source="content"):
            continue
        keep.append(sentence)
        if len(keep) == limit:
            break
    return " ".join(keep)


def summarize(req: ToolCallRequest, content: str) -> str:
    """One line for one tool call's result (or for why it did not run)."""
    label = _label(req)
    if content.startswith("The call to '"):
        return _not_done(label, content)
    if content.startswith("[content withheld"):
        return f"The result of the {label} was withheld by a safety check."
    try:
        data: Any = json.loads(content) if content[:1] in "[{" else content
    except ValueError:
        data = content
    return _done(req, data)


def _not_done(label: str, message: str) -> str:
    if "needs approval" in message:
        return f"The {label} is waiting for approval by a member of our team."
    if "has invalid arguments" in message:
        return f"The {label} had invalid details and was not carried out."
    if "failed:" in message:
        error = message.split("failed:", 1)[1].strip()
        return f"The {label} did not work: {error.rstrip('.')}."
    why = re.search(r"\(([^)]*)\)", message)
    tail = (
        message.split("could not be done.", 1)[1].strip() if "could not be done." in message else ""
    )
    text = f"The {label} was not carried out" + (f": {why.group(1)}." if why else ".")
    return f"{text} {tail}".strip()


def _label(req: ToolCallRequest) -> str:
    a = req.arguments
    labels = {
        "refund": f"refund of {_money(a.get('amount'))} on order {a.get('order_id')}",
        "get_order": f"lookup of order {a.get('order_id')}",
        "track_shipment": f"tracking of order {a.get('order_id')}",
        "cancel_order": f"cancellation of order {a.get('order_id')}",
        "send_email": f"e-mail to {a.get('to')}",
        "fetch_page": f"request for the page {a.get('url')}",
        "search_docs": "help-centre search",
        "read_inbox": "inbox check",
        "list_orders": "order list",
        "get_profile": "profile lookup",
        "delete_account": "account deletion",
    }
    return labels.get(req.name, f"'{req.name}' action")


def _money(value: Any) -> str:
    try:
        return f"{float(value):.2f} EUR"
    except (TypeError, ValueError):
        return f"{value} EUR"


def _done(req: ToolCallRequest, data: Any) -> str:
    a = req.arguments
    if req.name == "get_profile" and isinstance(data, Mapping):
        return f"The e-mail address on file is {data.get('email')}."
    if req.name == "list_orders" and isinstance(data, list):
        return "Your orders: " + "; ".join(order_line(r) for r in data if isinstance(r, Mapping))
    if req.name == "get_order" and isinstance(data, Mapping):
        return order_line(data) + f", placed {data.get('placed')}."
    if req.name == "track_shipment" and isinstance(data, Mapping):
        return (
            f"Tracking for order {data.get('order_id')}: {info_sentences(str(data.get('status')))}"
        )
    if req.name == "refund" and isinstance(data, Mapping):
        return (f"I refunded {_money(data.get('amount'))} on order {data.get('order_id')} "
                f"(refund {data.get('refund_id')}).")  # fmt: skip
    if req.name == "send_email":
        return f"I sent an e-mail to {a.get('to')}."
    if req.name == "fetch_page":
        return f"According to {a.get('url')}: {info_sentences(str(data))}"
    if req.name == "search_docs" and isinstance(data, list):
        if not data:
            return "I found no help-centre article about that."
        top = data[0]
        return f"From our help centre ({top.get('title')}): {info_sentences(str(top.get('text')))}"
    if req.name == "read_inbox" and isinstance(data, list) and data:
        top = data[0]
        return (f"You have {len(data)} message(s). The newest is from {top.get('from')}, subject "
                f"\"{top.get('subject')}\": {info_sentences(str(top.get('body')))}")  # fmt: skip
    if req.name == "cancel_order":
        return f"Order {a.get('order_id')} has been cancelled."
    if req.name == "delete_account":
        return "Your account has been deleted."
    return f"Done: {req.name}."
