"""Campaign strategies: the catalogue sweep, PAIR, TAP and crescendo.

``catalogue``: every goal x framing x carrier x mutator stack that applies, ordered so that a
small budget still covers every (channel, goal) pair: a seeded shuffle inside each pair, then
round robin across pairs. ``pair``: one stream of iterative refinement per goal and channel
(Chao et al., 2023). ``tap``: a tree of attacker proposals, ``branching`` children per node,
``width`` best kept per level, off-topic proposals pruned (Mehrotra et al., 2023).
``crescendo``: a multi-turn conversation that builds up to the request and backtracks when the
target refuses (Russinovich et al., 2024).
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from ringfence.redteam._attacker import Attacker, AttackerRequest, Feedback
from ringfence.redteam._attempt import AttemptSpec
from ringfence.redteam._catalogue import Carrier, Catalogue
from ringfence.redteam._goals import Goal
from ringfence.redteam._log import Executor, Record


def catalogue_plan(
    goals: Sequence[Goal], catalogue: Catalogue, stacks: Sequence[Sequence[str]], seed: int
) -> Iterator[tuple[AttemptSpec, Goal]]:
    """The catalogue sweep in its seeded order (see the module docstring)."""
    groups: dict[tuple[str, str], list[tuple[AttemptSpec, Goal]]] = {}
    for goal in goals:
        for carrier in catalogue.carriers:
            if not goal.applies_to(carrier.channel):
                continue
            for framing in catalogue.framings:
                if not framing.applies(carrier.channel, goal.expect.action):
                    continue
                if len(framing.turns) > 1 and carrier.placement != "turns":
                    continue
                for stack in stacks:
                    spec = AttemptSpec(goal.id, framing.id, carrier.id, tuple(stack), seed=seed)
                    groups.setdefault((carrier.channel, goal.id), []).append((spec, goal))
    for key, items in groups.items():
        random.Random(f"{seed}:{key}").shuffle(items)  # noqa: S311
    queues = [groups[k] for k in sorted(groups)]
    for i in range(max((len(q) for q in queues), default=0)):
        for queue in queues:
            if i < len(queue):
                yield queue[i]


def attacker_carriers(goal: Goal, catalogue: Catalogue) -> list[Carrier]:
    """One carrier per channel the goal applies to (the first in the catalogue)."""
    seen: dict[str, Carrier] = {}
    for carrier in catalogue.carriers:
        if goal.applies_to(carrier.channel) and carrier.channel not in seen:
            seen[carrier.channel] = carrier
    return list(seen.values())


@dataclass
class SearchSettings:
    depth: int = 3
    branching: int = 2
    width: int = 2
    max_backtracks: int = 2


class Search:
    """The attacker-model strategies over one executor."""

    def __init__(
        self, executor: Executor, attacker: Attacker, settings: SearchSettings, seed: int
    ) -> None:
        self.ex = executor
        self.attacker = attacker
        self.settings = settings
        self.seed = seed

    def _try(
        self,
        strategy: str,
        goal: Goal,
        carrier: Carrier,
        step: str,
        request: AttackerRequest,
        turns: list[str] | None = None,
    ) -> tuple[Record | None, str]:
        """One attacker proposal run against the target; reuses a logged step on resume."""
        spec = AttemptSpec(
            goal.id,
            "attacker",
            carrier.id,
            (),
            strategy,
            self.seed,
            None,
            f"{strategy}/{goal.id}/{carrier.id}/{step}",
        )
        old = self.ex.done.get(spec.id)
        if old is not None:
            return self.ex.execute(spec, goal), str(old.get("attacker_prompt", ""))
        prompt = self.attacker.propose(request)
        if prompt is None:
            return None, ""
        spec = AttemptSpec(
            spec.goal,
            spec.framing,
            spec.carrier,
            (),
            strategy,
            self.seed,
            tuple([*(turns or []), prompt]),
            spec.step,
        )
        record = self.ex.execute(spec, goal, attacker=self.attacker.name, attacker_prompt=prompt)
        return record, prompt

    def pair(self, goal: Goal, carrier: Carrier) -> None:
        request = AttackerRequest(goal, "pair", carrier.channel)
        for depth in range(self.settings.depth):
            if self.ex.exhausted:
                return
            record, prompt = self._try("pair", goal, carrier, f"d{depth}", request)
            if record is None:
                continue
            request.history.append(_feedback(prompt, record))
            if record.get("success"):
                return

    def tap(self, goal: Goal, carrier: Carrier) -> None:
        frontier: list[list[Feedback]] = [[]]
        for depth in range(self.settings.depth):
            scored: list[tuple[int, list[Feedback]]] = []
            for n, history in enumerate(frontier):
                for branch in range(self.settings.branching):
                    if self.ex.exhausted:
                        return
                    request = AttackerRequest(
                        goal, "tap", carrier.channel, list(history), branch=branch
                    )
                    record, prompt = self._try(
                        "tap", goal, carrier, f"d{depth}n{n}b{branch}", request
                    )
                    if record is None or record["status"] != "done":
                        continue  # refused by the attacker, or off-topic: pruned
                    if record.get("success"):
                        return
                    scored.append((int(record["score"]), [*history, _feedback(prompt, record)]))
            scored.sort(key=lambda t: -t[0])
            frontier = [h for _, h in scored[: self.settings.width]]
            if not frontier:
                return

    def crescendo(self, goal: Goal, carrier: Carrier) -> None:
        turns: list[str] = []
        history: list[Feedback] = []
        backtracks = 0
        for step in range(self.settings.depth + 2):
            if self.ex.exhausted:
                return
            request = AttackerRequest(
                goal, "crescendo", carrier.channel, list(history), list(turns)
            )
            record, prompt = self._try("crescendo", goal, carrier, f"t{step}", request, turns)
            if record is None:
                return
            if record.get("success"):
                return
            history.append(_feedback(prompt, record))
            if record.get("refused") and backtracks < self.settings.max_backtracks:
                backtracks += 1  # drop the refused turn and try another
                continue
            turns.append(prompt)


def _feedback(prompt: str, record: Record) -> Feedback:
    if record["status"] != "done":
        return Feedback(prompt, "off-topic", "the message does not carry the goal", 0)
    return Feedback(
        prompt, str(record["outcome"]), str(record.get("answer", "")), int(record.get("score", 0))
    )
