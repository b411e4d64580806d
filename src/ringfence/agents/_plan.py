"""Planning for the scripted models: which tool calls an instruction needs, given the facts the
conversation has produced so far (a refund "in full" first looks the order up; "e-mail me" first
reads the profile)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ringfence.agents._grammar import Instruction

READS: frozenset[str] = frozenset(
    {
        "get_profile",
        "list_orders",
        "get_order",
        "track_shipment",
        "search_docs",
        "read_inbox",
        "fetch_page",
    }
)
"""Tools that only read: planned at most once per turn."""

_FREE_TEXT = ("subject", "body", "reason")
_PLACEHOLDER = re.compile(
    r"[{<\[](email|customer_email|e-mail|name|customer_name|address|orders|order_ids)[}>\]]", re.I
)


@dataclass(frozen=True)
class Step:
    """A planned tool call. Calls are matched by their identifying arguments (not free text)."""

    tool: str
    args: Mapping[str, Any]

    def key(self) -> tuple[str, str]:
        ident = {k: _canon(v) for k, v in self.args.items() if k not in _FREE_TEXT}
        return self.tool, json.dumps(ident, sort_keys=True, default=str)


def _canon(value: Any) -> Any:
    if isinstance(value, float | int) and not isinstance(value, bool):
        return round(float(value), 2)
    return value.strip() if isinstance(value, str) else value


@dataclass
class Plan:
    """Planned calls in order, plus notes and texts for the answer."""

    steps: list[Step] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    says: list[str] = field(default_factory=list)

    def add(self, step: Step) -> None:
        if step.tool in READS and any(s.key() == step.key() for s in self.steps):
            return
        self.steps.append(step)


@dataclass
class Facts:
    """What the conversation's tool results established."""

    profile: dict[str, Any] | None = None
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    details: dict[str, dict[str, Any]] = field(default_factory=dict)
    listed: bool = False
    searches: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    refunds: list[dict[str, Any]] = field(default_factory=list)
    attempted: set[tuple[str, str]] = field(default_factory=set)

    @classmethod
    def read(cls, results: Sequence[tuple[Any, str]]) -> Facts:
        facts = cls()
        for request, content in results:
            facts.attempted.add(Step(request.name, dict(request.arguments)).key())
            data = _json(content)
            if data is not None:
                facts._learn(request.name, dict(request.arguments), data)
        return facts

    def _learn(self, tool: str, args: dict[str, Any], data: Any) -> None:
        if tool == "get_profile" and isinstance(data, dict):
            self.profile = data
        elif tool == "list_orders" and isinstance(data, list):
            self.listed = True
            for row in data:
                if isinstance(row, dict) and "order_id" in row:
                    self.orders.setdefault(str(row["order_id"]), row)
        elif tool == "get_order" and isinstance(data, dict) and "order_id" in data:
            self.details[str(data["order_id"])] = data
            self.orders[str(data["order_id"])] = data
        elif tool == "search_docs" and isinstance(data, list):
            self.searches[str(args.get("query", ""))] = [d for d in data if isinstance(d, dict)]
        elif tool == "refund" and isinstance(data, dict):
            self.refunds.append(data)


def _json(content: str) -> Any:
    if not content or content[0] not in "[{":
        return None
    try:
        return json.loads(content)
    except ValueError:
        return None


@dataclass
class _Ctx:
    facts: Facts
    system_prompt: str
    user_text: str
    user_texts: Sequence[str]
    plan: Plan

    def need(self, step: Step, available: bool) -> bool:
        """Plan a look-up; True when its fact is already known."""
        self.plan.add(step)
        return available

    def fill(self, text: str) -> str | None:
        """Fill placeholders like ``{email}`` from the profile (looked up first if needed)."""
        if not _PLACEHOLDER.search(text):
            return text
        profile = self.facts.profile
        if profile is None:
            step = Step("get_profile", {})
            self.plan.add(step)
            if step.key() not in self.facts.attempted:
                return None
            profile = {}
        values = {
            "email": profile.get("email"),
            "customer_email": profile.get("email"),
            "e-mail": profile.get("email"),
            "name": profile.get("name"),
            "customer_name": profile.get("name"),
            "address": profile.get("address"),
            "orders": ", ".join(self.facts.orders),
            "order_ids": ", ".join(self.facts.orders),
        }
        return _PLACEHOLDER.sub(lambda m: str(values.get(m.group(1).lower()) or m.group(0)), text)


def plan_steps(
    instructions: Sequence[Instruction],
    facts: Facts,
    system_prompt: str,
    user_text: str,
    user_texts: Sequence[str],
) -> Plan:
    """The tool calls, notes and texts that carry out ``instructions``."""
    ctx = _Ctx(facts, system_prompt, user_text, user_texts, Plan())
    for ins in instructions:
        _HANDLERS[ins.action](ins, ctx)
    return ctx.plan


def _reason(ins: Instruction) -> str:
    return "requested by the customer" if ins.source == "user" else f"requested in {ins.source}"


def _refund(ins: Instruction, ctx: _Ctx) -> None:
    order = ins.order_id
    if order is None:
        ctx.plan.notes.append("Which order should I refund? Please give me the order number.")
        return
    amount = ins.amount
    if amount is None and ins.full:
        detail = ctx.facts.details.get(order)
        if not ctx.need(Step("get_order", {"order_id": order}), detail is not None):
            return
        assert detail is not None
        amount = float(detail.get("refundable", 0))
    if amount is None:
        ctx.plan.notes.append(f"How much of order {order} should I refund?")
        return
    ctx.plan.add(Step("refund", {"order_id": order, "amount": amount, "reason": _reason(ins)}))


def _per_order(tool: str) -> Callable[[Instruction, _Ctx], None]:
    def handle(ins: Instruction, ctx: _Ctx) -> None:
        if ins.order_id is not None:
            ctx.plan.add(Step(tool, {"order_id": ins.order_id}))
            return
        if not ctx.need(Step("list_orders", {}), ctx.facts.listed):
            return
        if tool == "cancel_order":
            ctx.plan.notes.append("Which order should I cancel? Please give me the order number.")
            return
        for order_id, row in ctx.facts.orders.items():
            if tool == "get_order" or row.get("status") in ("shipped", "processing"):
                ctx.plan.add(Step(tool, {"order_id": order_id}))

    return handle


_SUBJECTS = {
    "receipt": "Your refund confirmation", "orders": "Your orders",
    "prompt": "Assistant instructions", "conversation": "Conversation transcript",
    "docs": "Help-centre information", "profile": "Your account details",
    "order": "Your order",
    "summary": "Your support request",
}  # fmt: skip


def _email(ins: Instruction, ctx: _Ctx) -> None:
    to = ins.recipient
    if to is None:
        profile = ctx.facts.profile
        if not ctx.need(Step("get_profile", {}), profile is not None):
            return
        assert profile is not None
        to = str(profile.get("email", ""))
    body = _body(ins, ctx)
    if body is None:
        return
    if ins.text:
        body += f"\n{ins.text}"
    subject = _SUBJECTS.get(ins.about or "summary", "Your support request")
    ctx.plan.add(Step("send_email", {"to": to, "subject": subject, "body": body}))


def _body(ins: Instruction, ctx: _Ctx) -> str | None:
    facts, about = ctx.facts, ins.about or "summary"
    if about == "prompt":
        return ctx.system_prompt
    if about == "conversation":
        return "Conversation so far:\n" + "\n".join(f"Customer: {t}" for t in ctx.user_texts)
    if about == "orders":
        if not ctx.need(Step("list_orders", {}), facts.listed):
            return None
        return "\n".join(order_line(row) for row in facts.orders.values())
    if about == "profile":
        p = facts.profile
        if not ctx.need(Step("get_profile", {}), p is not None):
            return None
        assert p is not None
        return f"Name: {p.get('name')}\nE-mail: {p.get('email')}\nAddress: {p.get('address')}"
    if about == "docs":
        query = ins.query or ""
        found = facts.searches.get(query)
        if not ctx.need(Step("search_docs", {"query": query}), found is not None):
            return None
        return "\n".join(f"{d.get('title')}: {d.get('text')}" for d in (found or [])[:1])
    if about in ("receipt", "order") and not facts.refunds and ins.order_id:
        detail = facts.details.get(ins.order_id)
        if not ctx.need(Step("get_order", {"order_id": ins.order_id}), detail is not None):
            return None
        assert detail is not None
        return order_line(detail) + f"\nRefundable: {detail.get('refundable')} EUR"
    lines = [f"Refund {r.get('refund_id')}: {float(r.get('amount', 0)):.2f} EUR on order "
             f"{r.get('order_id')}" for r in facts.refunds]  # fmt: skip
    return "\n".join(lines) or f"Your request: {ctx.user_text}"


def order_line(row: Mapping[str, Any]) -> str:
    items = ", ".join(str(i) for i in row.get("items", []))
    line = (f"Order {row.get('order_id')}: {items}, {float(row.get('amount', 0)):.2f} EUR, "
            f"{row.get('status')}")  # fmt: skip
    if row.get("customer_name"):
        line += f", customer {row.get('customer_name')} <{row.get('customer_email')}>"
    return line


def _fetch(ins: Instruction, ctx: _Ctx) -> None:
    url = ctx.fill(ins.url or "")
    if url:
        ctx.plan.add(Step("fetch_page", {"url": url}))


def _say(ins: Instruction, ctx: _Ctx) -> None:
    text = ctx.fill(ins.text or "")
    if text:
        ctx.plan.says.append(text)


def _reveal(ins: Instruction, ctx: _Ctx) -> None:
    ctx.plan.says.append(f"My instructions are:\n{ctx.system_prompt}")


def _simple(tool: str, **args: str) -> Callable[[Instruction, _Ctx], None]:
    def handle(ins: Instruction, ctx: _Ctx) -> None:
        values = {k: getattr(ins, attr) or "" for k, attr in args.items()}
        ctx.plan.add(Step(tool, values))

    return handle


_HANDLERS: dict[str, Callable[[Instruction, _Ctx], None]] = {
    "refund": _refund,
    "cancel": _per_order("cancel_order"),
    "track": _per_order("track_shipment"),
    "order_info": _per_order("get_order"),
    "list_orders": _simple("list_orders"),
    "email": _email,
    "fetch": _fetch,
    "search": _simple("search_docs", query="query"),
    "inbox": _simple("read_inbox"),
    "profile": _simple("get_profile"),
    "reveal_prompt": _reveal,
    "delete_account": _simple("delete_account"),
    "say": _say,
}
