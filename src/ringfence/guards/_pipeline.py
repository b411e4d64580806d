"""Guard pipelines: the guards of each direction, run concurrently under one deadline.

For one text: the guards of the direction run in worker threads (or as coroutines with
:meth:`GuardPipeline.arun` when they have ``acheck``); whatever is not finished at the deadline,
and whatever raised or returned something malformed, is an error (``on_error``: verdict ``error``
unless the policy says otherwise).

Guards marked ``inline`` (the built-in ones: bounded, linear-time CPU work, no I/O) run in the
calling thread meanwhile, in order: under the GIL threads give pure-Python work no speed-up and a
thread hand-off costs more than most guards. An inline guard cannot be cut off, so its result
counts only if it finished before the deadline (late: error; not started before the deadline:
error). ``isolate=True`` (policy: ``guards: {isolate: true}``) runs every guard in a thread.
``cache_size=N`` keeps the last N complete verdicts of the ``input`` and ``untrusted``
directions whose guards are all pure, and reuses them for identical texts (``_cache``).
 Findings at or above a step's threshold get the step's action,
findings in its low-confidence band get that band's action, the rest are dropped. The verdict is
the most severe one (``error`` > ``block`` > ``flag`` > ``pass``). Then the guards whose findings
are to be redacted rewrite the text, in order, within what is left of the deadline.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, get_args

from ringfence.exceptions import ConfigError
from ringfence.guards._cache import CACHED_DIRECTIONS, CacheKey, VerdictCache
from ringfence.guards._config import DEFAULT_DEADLINE_MS, DEFAULT_REFUSAL, GuardSpec, GuardsSpec
from ringfence.guards._registry import create_guard
from ringfence.guards._types import (
    Action,
    Direction,
    Finding,
    Guard,
    GuardReport,
    GuardResult,
    GuardVerdict,
    OnError,
    verdict_of,
    worst,
)
from ringfence.provenance import Label

if TYPE_CHECKING:
    from ringfence.policy import Policy

DIRECTIONS: tuple[Direction, ...] = get_args(Direction)
_ON_ERROR_ACTION: dict[OnError, Action] = {"block": "block", "flag": "flag", "pass": "log"}
ERROR_KIND = "guard.error"

DEFAULT_LABELS: dict[Direction, Label] = {
    "input": Label("user", True),
    "untrusted": Label("untrusted", False),
    "output": Label("assistant", False),
}


@dataclass(frozen=True)
class GuardStep:
    """A guard in a pipeline, with what the policy does with its findings (``None``: the guard's
    defaults). Scores in ``[low_above, threshold)`` get ``low_action``."""

    guard: Guard
    action: Action | None = None
    threshold: float | None = None
    low_above: float | None = None
    low_action: Action = "approve"
    on_error: OnError = "block"
    name: str | None = None


class _Runner:
    """A step with its effective settings; turns a guard's findings into (finding, action)."""

    def __init__(self, step: GuardStep, isolate: bool = False) -> None:
        self.guard = step.guard
        self.inline = not isolate and getattr(step.guard, "inline", False) is True
        self.name = step.name or step.guard.name
        self.action: Action = step.action or step.guard.default_action
        self.threshold = step.guard.threshold if step.threshold is None else step.threshold
        self.low_above = step.low_above
        self.low_action = step.low_action
        self.on_error = step.on_error
        if self.low_above is not None and self.low_above >= self.threshold:
            raise ConfigError(
                f"guard {self.name!r}: low_confidence.above ({self.low_above}) must "
                f"be below its threshold ({self.threshold:.4f})"
            )
        calibrate = getattr(self.guard, "calibrate", None)
        if callable(calibrate):
            floor = self.threshold if self.low_above is None else self.low_above
            calibrate(self.threshold, floor)

    def classify(self, found: object) -> list[tuple[Finding, Action]]:
        """Keep the findings the policy acts on; raises on a malformed answer (an error)."""
        if not isinstance(found, list | tuple):
            raise TypeError(f"check() returned {type(found).__name__}, not a list of findings")
        out: list[tuple[Finding, Action]] = []
        for item in found:
            if not isinstance(item, Finding):
                raise TypeError(f"check() returned {type(item).__name__}, not a Finding")
            if not (isinstance(item.score, int | float) and 0.0 <= item.score <= 1.0):
                raise ValueError(f"finding {item.kind!r} has score {item.score!r} outside [0, 1]")
            f = item if item.guard == self.name else replace(item, guard=self.name)
            if f.score >= self.threshold:
                out.append((f, self.action))
            elif self.low_above is not None and f.score >= self.low_above:
                out.append((replace(f, kind=f"{f.kind}.uncertain"), self.low_action))
        return out

    def failed(self, reason: str) -> tuple[list[tuple[Finding, Action]], str]:
        finding = Finding(self.name, ERROR_KIND, 1.0, None, reason)
        return [(finding, _ON_ERROR_ACTION[self.on_error])], f"{self.name}: {reason}"


_Outcome = tuple[list[tuple[Finding, Action]], str | None]


class GuardPipeline:
    """Guards per direction, run concurrently with a per-request deadline. Build one from a policy
    with :func:`build_pipeline`, or from guards directly::

        GuardPipeline({"input": [SizeGuard(), GuardStep(InjectionGuard(), action="block")]})
    """

    def __init__(
        self,
        steps: Mapping[Direction, Sequence[GuardStep | Guard]] | None = None,
        *,
        deadline_ms: float = DEFAULT_DEADLINE_MS,
        refusal_template: str = DEFAULT_REFUSAL,
        max_workers: int | None = None,
        isolate: bool = False,
        cache_size: int = 0,
    ) -> None:
        if not (deadline_ms > 0 and math.isfinite(deadline_ms)):
            raise ConfigError(f"deadline_ms must be a positive number, got {deadline_ms!r}")
        unknown = set(steps or {}) - set(DIRECTIONS)
        if unknown:
            raise ConfigError(f"unknown directions {sorted(unknown)}; use {list(DIRECTIONS)}")
        self._runners: dict[Direction, list[_Runner]] = {d: [] for d in DIRECTIONS}
        for direction, items in (steps or {}).items():
            for item in items:
                step = item if isinstance(item, GuardStep) else GuardStep(item)
                self._runners[direction].append(_Runner(step, isolate))
            _check_unique(direction, self._runners[direction])
        self.deadline_s = deadline_ms / 1000.0
        self.refusal_template = refusal_template
        total = sum(len(r) for r in self._runners.values())
        self._max_workers = max_workers or max(4, 2 * total)
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self.cache = VerdictCache(cache_size) if cache_size > 0 else None
        self._cached = frozenset(
            d
            for d in CACHED_DIRECTIONS
            if self._runners[d]
            and all(getattr(r.guard, "pure", False) is True for r in self._runners[d])
        )

    # --- introspection ---------------------------------------------------------------------

    def guards(self, direction: Direction) -> list[str]:
        """Names of the guards of ``direction``, in order."""
        return [r.name for r in self._runners[direction]]

    def caches(self, direction: Direction) -> bool:
        """Whether verdicts of ``direction`` are reused for identical texts (a cache is set and
        every guard of the direction is pure)."""
        return self.cache is not None and direction in self._cached

    def runs_inline(self, direction: Direction) -> bool:
        """Whether every guard of ``direction`` runs in the calling thread (the built-in ones:
        bounded CPU work, no I/O), so that :meth:`evaluate` never waits on a worker thread."""
        return all(r.inline for r in self._runners[direction])

    def guard(self, direction: Direction, name: str) -> Guard:
        """The guard named ``name`` in ``direction`` (e.g. to add a canary token)."""
        for runner in self._runners[direction]:
            if runner.name == name:
                return runner.guard
        raise ConfigError(f"no guard {name!r} in the {direction} pipeline")

    # --- running ---------------------------------------------------------------------------

    def run(
        self, text: str, label: Label | None = None, direction: Direction = "input"
    ) -> GuardResult:
        """Check ``text`` on its way in ``direction``; see the module docstring."""
        return self.evaluate(text, label, direction).result

    async def arun(
        self, text: str, label: Label | None = None, direction: Direction = "input"
    ) -> GuardResult:
        """Like :meth:`run`, without blocking the event loop."""
        return (await self.aevaluate(text, label, direction)).result

    def evaluate(
        self, text: str, label: Label | None = None, direction: Direction = "input"
    ) -> GuardReport:
        """Like :meth:`run`, plus the action the policy takes for each finding."""
        start = time.perf_counter()
        runners, label = self._prepare(text, label, direction)
        if not runners:
            return _empty(direction, start)
        key, hit = self._lookup(text, label, direction, start)
        if hit is not None:
            return hit
        return self._keep(key, self._evaluate(runners, text, label, direction, start))

    def _lookup(
        self, text: str, label: Label, direction: Direction, start: float
    ) -> tuple[CacheKey | None, GuardReport | None]:
        """(cache key, cached report): (None, None) where verdicts are not cached."""
        if self.cache is None or direction not in self._cached:
            return None, None
        key = self.cache.key(text, label, direction)
        return key, self.cache.get(key, (time.perf_counter() - start) * 1000.0)

    def _keep(self, key: CacheKey | None, report: GuardReport) -> GuardReport:
        if key is not None and self.cache is not None:
            self.cache.put(key, report)
        return report

    def _evaluate(
        self, runners: list[_Runner], text: str, label: Label, direction: Direction, start: float
    ) -> GuardReport:
        deadline = start + self.deadline_s
        threaded = [r for r in runners if not r.inline]
        futures: dict[int, Future[Sequence[Finding]]] = {}
        if threaded:
            pool = self._executor()
            futures = {id(r): pool.submit(r.guard.check, text, label) for r in threaded}
        done = {id(r): _inline(r, text, label, deadline) for r in runners if r.inline}
        if futures:
            wait(futures.values(), timeout=max(deadline - time.perf_counter(), 0.0))
            done.update((id(r), _outcome(r, futures[id(r)])) for r in threaded)
        outcomes = [done[id(r)] for r in runners]
        rewritten, failure = self._rewrite(runners, outcomes, text, deadline)
        return self._report(direction, outcomes, rewritten, failure, start)

    def _rewrite(
        self, runners: list[_Runner], outcomes: list[_Outcome], text: str, deadline: float
    ) -> tuple[str | None, str | None]:
        job, inline = self._rewrite_job(runners, outcomes, text)
        if job is None:
            return None, None
        if not inline:
            return _finish_rewrite(self._executor().submit(job), deadline - time.perf_counter())
        try:
            rewritten = job()
        except Exception as exc:
            return None, f"rewrite: {type(exc).__name__}: {exc}"
        if time.perf_counter() > deadline:
            return None, "rewrite: timed out (finished after the deadline)"
        return rewritten, None

    async def aevaluate(
        self, text: str, label: Label | None = None, direction: Direction = "input"
    ) -> GuardReport:
        """Like :meth:`evaluate`, without blocking the event loop."""
        start = time.perf_counter()
        runners, label = self._prepare(text, label, direction)
        if not runners:
            return _empty(direction, start)
        key, hit = self._lookup(text, label, direction, start)
        if hit is not None:
            return hit
        return self._keep(key, await self._aevaluate(runners, text, label, direction, start))

    async def _aevaluate(
        self, runners: list[_Runner], text: str, label: Label, direction: Direction, start: float
    ) -> GuardReport:
        loop = asyncio.get_running_loop()
        pool = self._executor()
        tasks = [asyncio.ensure_future(_acheck(r.guard, text, label, loop, pool)) for r in runners]
        await asyncio.wait(tasks, timeout=self.deadline_s)
        outcomes = [_aoutcome(r, t) for r, t in zip(runners, tasks, strict=True)]
        left = self.deadline_s - (time.perf_counter() - start)
        rewrite, _ = self._rewrite_job(runners, outcomes, text)
        rewritten, failure = None, None
        if rewrite is not None:
            job = loop.run_in_executor(pool, rewrite)
            try:
                rewritten = await asyncio.wait_for(job, timeout=max(left, 0.0))
            except TimeoutError:
                failure = "rewrite: timed out"
            except Exception as exc:
                failure = f"rewrite: {type(exc).__name__}: {exc}"
        return self._report(direction, outcomes, rewritten, failure, start)

    def _prepare(
        self, text: str, label: Label | None, direction: Direction
    ) -> tuple[list[_Runner], Label]:
        if direction not in self._runners:
            raise ConfigError(f"unknown direction {direction!r}; use {list(DIRECTIONS)}")
        if not isinstance(text, str):
            raise ConfigError(f"guards check text (str), got {type(text).__name__}")
        return self._runners[direction], label or DEFAULT_LABELS[direction]

    def _executor(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self._max_workers, "ringfence-guard")
            return self._pool

    def _rewrite_job(
        self, runners: list[_Runner], outcomes: list[_Outcome], text: str
    ) -> tuple[Callable[[], str] | None, bool]:
        """The rewrites to apply in order, and whether they may all run inline."""
        rewriters: list[Callable[[str], str]] = []
        inline = True
        for runner, (acted, _) in zip(runners, outcomes, strict=True):
            fn = getattr(runner.guard, "rewrite", None)
            if callable(fn) and any(a == "redact" for _, a in acted):
                rewriters.append(fn)
                inline = inline and runner.inline
        if not rewriters:
            return None, True

        def job() -> str:
            out = text
            for fn in rewriters:
                out = fn(out)
                if not isinstance(out, str):
                    raise TypeError("rewrite() must return str")
            return out

        return job, inline

    def _report(
        self,
        direction: Direction,
        outcomes: list[_Outcome],
        rewritten: str | None,
        failure: str | None,
        start: float,
    ) -> GuardReport:
        pairs = [p for acted, _ in outcomes for p in acted]
        errors = [e for _, e in outcomes if e is not None]
        if failure is not None:
            pairs.append((Finding("pipeline", ERROR_KIND, 1.0, None, failure), "block"))
            errors.append(failure)
            rewritten = None
        verdicts = [_verdict(a, f) for f, a in pairs]
        text = self.refusal_template if any(a == "refuse" for _, a in pairs) else rewritten
        result = GuardResult(
            verdict=worst(verdicts),
            findings=tuple(f for f, _ in pairs),
            latency_ms=(time.perf_counter() - start) * 1000.0,
            errors=tuple(errors),
            text=text,
        )
        return GuardReport(result, tuple(a for _, a in pairs), direction)

    def close(self) -> None:
        """Stop the worker threads (a guard still hanging keeps its thread until it returns)."""
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = None

    def __enter__(self) -> GuardPipeline:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _verdict(action: Action, finding: Finding) -> GuardVerdict:
    if finding.kind == ERROR_KIND and action == "block":
        return "error"
    return verdict_of(action)


def _check_unique(direction: str, runners: list[_Runner]) -> None:
    names = [r.name for r in runners]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigError(f"{direction}: guard names must be unique, got {dupes} twice")


def _empty(direction: Direction, start: float) -> GuardReport:
    ms = (time.perf_counter() - start) * 1000.0
    return GuardReport(GuardResult("pass", (), ms), (), direction)


def _inline(runner: _Runner, text: str, label: Label, deadline: float) -> _Outcome:
    """Run an inline guard in this thread; a result after the deadline does not count."""
    if time.perf_counter() > deadline:
        return runner.failed("timed out (deadline exceeded before it ran)")
    try:
        found = runner.guard.check(text, label)
    except Exception as exc:
        return runner.failed(f"{type(exc).__name__}: {exc}")
    if time.perf_counter() > deadline:
        return runner.failed("timed out (finished after the deadline)")
    try:
        return runner.classify(found), None
    except Exception as exc:
        return runner.failed(f"{type(exc).__name__}: {exc}")


def _outcome(runner: _Runner, future: Future[Sequence[Finding]]) -> _Outcome:
    if not future.done():
        future.cancel()
        return runner.failed("timed out (deadline exceeded)")
    try:
        return runner.classify(future.result()), None
    except Exception as exc:
        return runner.failed(f"{type(exc).__name__}: {exc}")


def _aoutcome(runner: _Runner, task: asyncio.Future[Sequence[Finding]]) -> _Outcome:
    if not task.done():
        task.cancel()
        return runner.failed("timed out (deadline exceeded)")
    try:
        return runner.classify(task.result()), None
    except Exception as exc:
        return runner.failed(f"{type(exc).__name__}: {exc}")


def _finish_rewrite(future: Future[str], left: float) -> tuple[str | None, str | None]:
    try:
        return future.result(timeout=max(left, 0.0)), None
    except TimeoutError:
        future.cancel()
        return None, "rewrite: timed out"
    except Exception as exc:
        return None, f"rewrite: {type(exc).__name__}: {exc}"


async def _acheck(
    guard: Guard, text: str, label: Label, loop: asyncio.AbstractEventLoop, pool: ThreadPoolExecutor
) -> Sequence[Finding]:
    acheck = getattr(guard, "acheck", None)
    if acheck is not None and asyncio.iscoroutinefunction(acheck):
        found: Sequence[Finding] = await acheck(text, label)
        return found
    return await loop.run_in_executor(pool, guard.check, text, label)


# --- building from a policy ------------------------------------------------------------------


def default_guards() -> GuardsSpec:
    """The pipelines used when a policy has no ``guards:`` section (or omits a direction)."""
    return GuardsSpec.model_validate(
        {
            "input": [
                {"use": "size", "with": {"max_chars": 32_000}, "action": "block"},
                {"use": "unicode", "action": "flag"},
                {"use": "encoding", "action": "block"},
                {"use": "injection", "action": "block"},
            ],
            "untrusted": [
                {"use": "size", "with": {"max_chars": 200_000}, "action": "flag"},
                {"use": "unicode", "action": "flag"},
                {"use": "encoding", "action": "flag"},
                {"use": "injection", "action": "flag"},
            ],
            "output": [
                {"use": "secrets", "action": "block"},
                {"use": "exfil", "action": "block"},
                {"use": "pii", "action": "log"},
                {"use": "refusal", "action": "log"},
            ],
        }
    )


def step_from_spec(spec: GuardSpec) -> GuardStep:
    """Build one configured guard (its options were validated when the policy was loaded)."""
    built = create_guard(spec.use, spec.with_)
    low = spec.low_confidence
    return GuardStep(
        guard=built,
        action=spec.action,
        threshold=spec.threshold,
        low_above=low.above if low else None,
        low_action=low.action if low else "approve",
        on_error=spec.on_error,
        name=spec.name,
    )


def build_pipeline(
    source: Policy | GuardsSpec | None = None, *, cache_size: int = 0
) -> GuardPipeline:
    """The pipeline a policy's ``guards:`` section declares; defaults where it says nothing.

    Guards load their resources (e.g. the detector's weights) here, never at the first request;
    a guard that cannot be built raises (:class:`ConfigError`, :class:`MissingExtraError`).
    ``cache_size``: see :class:`GuardPipeline` (servers that see whole conversations set it).
    """
    spec = _spec_of(source)
    defaults = default_guards()
    steps: dict[Direction, list[GuardStep]] = {}
    for direction in DIRECTIONS:
        declared: list[GuardSpec] | None = getattr(spec, direction)
        chosen = declared if declared is not None else getattr(defaults, direction)
        steps[direction] = [step_from_spec(s) for s in chosen]
    return GuardPipeline(
        steps,
        deadline_ms=spec.deadline_ms,
        refusal_template=spec.refusal_template,
        isolate=spec.isolate,
        cache_size=cache_size,
    )


def _spec_of(source: Policy | GuardsSpec | None) -> GuardsSpec:
    if source is None:
        return GuardsSpec()
    if isinstance(source, GuardsSpec):
        return source
    declared = getattr(source.spec, "guards", None)
    return declared if isinstance(declared, GuardsSpec) else GuardsSpec()
