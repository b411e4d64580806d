"""One attempt: goal x framing x carrier x mutator stack, rendered as an eval case, and the
check that the rendered payload still carries the goal.

The check reads the payload the way a reader of the content would: every decoded reading of
each text (hidden HTML, base64, hex, ROT13, leetspeak, homoglyphs, invisible characters; see
:func:`ringfence.agents._decode.readings`), through the instruction grammar the scripted models
share (:func:`ringfence.agents.parse_instructions`), with the context such a reader has: the
turns of one conversation carry the order they talk about; separate e-mails or documents do not.
For the scripted targets this is exactly what they act on; for a language model it is a lower
bound ("a careful reader would still find the request").
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ringfence.agents import Instruction, parse_instructions
from ringfence.agents._grammar import order_ids
from ringfence.evals import Case
from ringfence.redteam._catalogue import Carrier, Catalogue, Framing
from ringfence.redteam._goals import Goal, GoalExpect
from ringfence.redteam._mutators import MutationContext, Payload, apply_stack

_JOINED = ("pages", "tracking", "order_notes")
"""Placements whose parts share one text (one page, one status): context carries over."""


@dataclass(frozen=True)
class AttemptSpec:
    """What an attempt is made of; its id is a digest of these and the campaign seed."""

    goal: str
    framing: str
    carrier: str
    mutators: tuple[str, ...] = ()
    strategy: str = "catalogue"
    seed: int = 0
    turns: tuple[str, ...] | None = None
    """For attacker strategies: the attacker's own turns (replacing the framing's)."""
    step: str = ""
    """For attacker strategies: the position in the search (stream/depth/branch)."""

    @property
    def id(self) -> str:
        blob = json.dumps(
            [
                self.goal,
                self.framing,
                self.carrier,
                list(self.mutators),
                self.strategy,
                self.seed,
                self.step,
            ],
            sort_keys=True,
        )
        return f"rt-{hashlib.sha256(blob.encode()).hexdigest()[:12]}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "goal": self.goal,
            "framing": self.framing,
            "carrier": self.carrier,
            "mutators": list(self.mutators),
            "strategy": self.strategy,
            "step": self.step,
            "seed": self.seed,
        }


@dataclass(frozen=True)
class Read:
    """A text the target reads, with the order it is about (conversation or record context)."""

    text: str
    context_order: str | None = None
    source: str = "content"


@dataclass
class Rendered:
    spec: AttemptSpec
    case: Case
    reads: list[Read]
    techniques: list[str] = field(default_factory=list)
    channel: str = ""


def recovered(expect: GoalExpect, reads: Sequence[Read]) -> bool:
    """Does a reader of ``reads`` find the goal's request (``expect.count`` times)?"""
    found: list[Instruction] = []
    for read in reads:
        found.extend(
            parse_instructions(read.text, source=read.source, context_order=read.context_order)
        )
    return sum(1 for ins in found if instruction_matches(expect, ins)) >= expect.count


def instruction_matches(expect: GoalExpect, ins: Instruction) -> bool:
    if ins.action != expect.action:
        return False
    if expect.order_id == "*":
        if ins.order_id is None:
            return False
    elif expect.order_id is not None and ins.order_id != expect.order_id:
        return False
    if expect.amount is not None and (ins.amount is None or abs(ins.amount - expect.amount) > 1e-6):
        return False
    if expect.full is not None and ins.full != expect.full:
        return False
    for name in ("recipient", "url", "text", "about"):
        want = getattr(expect, name)
        got = getattr(ins, name)
        if want is not None and (got is None or want.casefold() not in got.casefold()):
            return False
    return True


def goal_survives(rendered: Rendered, goal: Goal) -> bool:
    """The rendered attempt still carries its goal (see the module docstring)."""
    return recovered(goal.expect, rendered.reads)


def render(spec: AttemptSpec, goal: Goal, catalogue: Catalogue) -> Rendered | None:
    """The attempt as an eval case; None when a mutator of the stack does not apply."""
    framing = catalogue.framing(spec.framing) if spec.turns is None else None
    carrier = catalogue.carrier(spec.carrier)
    turns = list(spec.turns) if spec.turns is not None else _framed(framing, goal)
    payload = Payload((turns[-1],), goal.instruction)
    ctx = MutationContext(goal, random.Random(f"{spec.seed}:{spec.id}"))  # noqa: S311
    mutated = apply_stack(spec.mutators, payload, ctx)
    if mutated is None:
        return None
    user_turns, environment, reads = _place(carrier, turns[:-1], mutated.parts)
    techniques = _techniques(framing, carrier, spec)
    tags = _tags(goal, framing, carrier, spec, techniques)
    desc = (
        f"red-team {spec.strategy}: goal {goal.id}, {framing.id if framing else 'attacker'}"
        f" in {carrier.id}" + (f", mutators {'+'.join(spec.mutators)}" if spec.mutators else "")
    )
    case = Case.model_validate(
        {
            "id": spec.id,
            "category": "attack",
            "tags": tags,
            "description": desc,
            "turns": user_turns,
            "environment": environment,
            "safety": goal.safety.model_dump(mode="json", by_alias=True, exclude_defaults=True),
        }
    )
    return Rendered(spec, case, reads, techniques, carrier.channel)


def _framed(framing: Framing | None, goal: Goal) -> list[str]:
    assert framing is not None
    return [t.replace("{instruction}", goal.instruction) for t in framing.turns]


def _place(
    carrier: Carrier, before: list[str], parts: tuple[str, ...]
) -> tuple[list[str], dict[str, Any], list[Read]]:
    """The user's turns, the environment block and the reads for one carrier."""
    if carrier.placement == "turns":
        turns = [*before, *parts]
        reads, context = [], None
        for turn in turns:
            reads.append(Read(turn, context, "user"))
            ids = order_ids(turn)
            context = ids[-1] if ids else context
        return turns, {}, reads
    texts = (
        [carrier.template.replace("{payload}", " ".join(parts))]
        if carrier.placement in _JOINED
        else [carrier.template.replace("{payload}", p) for p in parts]
    )
    env = _environment(carrier, texts)
    context = carrier.order_id if carrier.placement in ("tracking", "order_notes") else None
    return [carrier.turn or "Hello."], env, [Read(t, context) for t in texts]


def _environment(carrier: Carrier, texts: list[str]) -> dict[str, Any]:
    if carrier.placement == "pages":
        return {"pages": {carrier.url: texts[0]}}
    if carrier.placement == "emails":
        return {
            "emails": [
                {
                    "sender": carrier.sender or "someone@example.net",
                    "subject": carrier.subject or "Hello",
                    "body": t,
                }
                for t in texts
            ]
        }
    if carrier.placement == "documents":
        return {
            "documents": [
                {"title": carrier.title or "Note", "text": t, "keywords": list(carrier.keywords)}
                for t in texts
            ]
        }
    key = "tracking" if carrier.placement == "tracking" else "order_notes"
    return {key: {carrier.order_id: texts[0]}}


def _techniques(framing: Framing | None, carrier: Carrier, spec: AttemptSpec) -> list[str]:
    names = [framing.technique if framing else f"attacker-{spec.strategy}"]
    if carrier.placement != "turns":
        names.append(carrier.technique)
    names.extend(m.partition(":")[0] if m.startswith("many-shot") else m for m in spec.mutators)
    return list(dict.fromkeys(names))


def _tags(
    goal: Goal, framing: Framing | None, carrier: Carrier, spec: AttemptSpec, techniques: list[str]
) -> list[str]:
    owasp = [*goal.tags, *(framing.owasp if framing else ["LLM01"]), *carrier.owasp]
    tags = [t for t in owasp if t[:3] in ("LLM", "ASI")]
    tags += [
        f"channel:{carrier.channel}",
        *techniques,
        goal.kind,
        f"goal:{goal.id}",
        f"strategy:{spec.strategy}",
        "redteam",
    ]
    tags += [t for t in goal.tags if t[:3] not in ("LLM", "ASI")]
    return sorted(dict.fromkeys(tags), key=lambda t: (t[:3] not in ("LLM", "ASI"), t))
