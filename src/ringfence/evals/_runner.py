"""Running cases: a fresh world (and, with a policy, a fresh gateway) per run of a case.

:class:`CaseRunner` runs and scores one case (or one red-team attempt) at a time; :func:`run_suite`
runs a whole suite, with epochs and a progress bar. With a policy, every tool call goes through a
:class:`ringfence.gateway.Gateway` whose cap ledger is private to the run (so one case's refunds
do not count against the next) and whose audit log is shared by the whole suite run (in memory,
or the file given as ``audit_db``: sessions are named ``CASE_ID#EPOCH``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from ringfence.agents import (
    DirectRunner,
    Environment,
    GatewayRunner,
    GuardHook,
    SessionGuardHook,
    ToolRunner,
    Transcript,
    get_environment,
)
from ringfence.agents._loop import MAX_STEPS
from ringfence.audit import AuditLog
from ringfence.evals._loader import Suite, validate_setup
from ringfence.evals._refusal import PatternRefusalDetector, RefusalDetector
from ringfence.evals._results import CaseResult, CaseSummary, RunResult
from ringfence.evals._schema import Case
from ringfence.evals._scoring import Grader, Score, error_score, score_case
from ringfence.evals._targets import Episode, Target
from ringfence.exceptions import ConfigError
from ringfence.gateway import Gateway
from ringfence.guards import GuardPipeline, build_pipeline
from ringfence.policy import Policy, load_policy
from ringfence.store import SqliteStore

ProgressFn = Callable[[Case, int], None]


def resolve_policy(policy: Policy | str | Path | None, env: Environment) -> Policy | None:
    """A policy object, a file path, ``"shipped"`` (the environment's own) or None."""
    if policy is None or isinstance(policy, Policy):
        return policy
    if str(policy) in ("shipped", "default", env.name):
        path = env.default_policy_path()
        if path is None:
            raise ConfigError(f"environment {env.name!r} ships no policy")
        return load_policy(path)
    return load_policy(policy)


class CaseRunner:
    """Runs and scores single cases against one target (the red-team engine's entry point).

    >>> runner = CaseRunner(make_target("reference:worst-case"), policy="shipped")
    >>> result = runner.run(case)        # a CaseResult: outcome, checks, transcript, state
    """

    def __init__(
        self,
        target: Target,
        *,
        environment: str | Environment = "support-desk",
        policy: Policy | str | Path | None = None,
        hooks: Sequence[GuardHook] = (),
        grader: Grader | None = None,
        detector: RefusalDetector | None = None,
        audit_db: str | Path | None = None,
        principal: str | None = None,
        max_steps: int = MAX_STEPS,
    ) -> None:
        self.target = target
        self.env = environment if not isinstance(environment, str) else get_environment(environment)
        self.policy = resolve_policy(policy, self.env)
        self.hooks = tuple(hooks)
        self.grader = grader
        self.detector = detector or PatternRefusalDetector()
        self.principal = principal
        self.max_steps = max_steps
        self._guards: GuardPipeline | None = None
        self._audit_store = SqliteStore(audit_db or ":memory:") if self.policy else None
        self.audit = AuditLog(self._audit_store) if self._audit_store else None

    def run(self, case: Case, *, setup: BaseModel | None = None, epoch: int = 0) -> CaseResult:
        """Run ``case`` once and score it. ``setup`` is its validated environment block
        (validated here when not given). Never raises for a failing target: that is ``error``."""
        if setup is None and case.environment:
            setup = validate_setup(self.env, case, "<case>", "")
        principal = case.principal or self.principal or self.env.default_principal
        world = self.env.build(setup, principal)
        runner, hooks, cleanup = self._runner(world, f"{case.id}#{epoch}")
        episode = Episode(case, world, runner, world.system_prompt(), list(case.turns),
                          (*self.hooks, *hooks), self.max_steps)  # fmt: skip
        start = time.perf_counter()
        try:
            transcript = self.target.run(episode)
        except Exception as exc:  # the target failed: an error outcome, never a pass
            latency = time.perf_counter() - start
            message = f"{type(exc).__name__}: {exc}"
            return CaseResult(case, error_score(case, message), Transcript(), None, latency,
                              epoch, message)  # fmt: skip
        finally:
            cleanup()
        latency = time.perf_counter() - start
        try:
            state = world.state()
            score = score_case(case, transcript, state, detector=self.detector,
                               grader=self.grader)  # fmt: skip
        except Exception as exc:  # scoring itself failed: unscorable, which counts against
            reason = f"scoring failed: {type(exc).__name__}: {exc}"
            score, state = Score("unscorable", False, None, False, (), reason), None
        return CaseResult(case, score, transcript, state, latency, epoch)

    def _runner(
        self, world: Any, session_id: str
    ) -> tuple[ToolRunner, tuple[GuardHook, ...], Callable[[], None]]:
        """The run's tool runner, the guards its policy declares (as hooks) and a clean-up."""
        if self.policy is None:
            return DirectRunner(world.tools()), (), lambda: None
        if self.policy.spec.guards is not None and self._guards is None:
            self._guards = build_pipeline(self.policy)  # built once: loads the detector once
        store = SqliteStore(":memory:")
        gateway = Gateway(self.policy, store=store, audit=self.audit, resolver=world,
                          guards=self._guards)  # fmt: skip
        for tool in world.tools():
            gateway.add_tool(tool)
        session = gateway.session(world.principal, session_id)
        hooks = (SessionGuardHook(session),) if session.guards is not None else ()

        def cleanup() -> None:
            if gateway.resolver is not None:
                gateway.resolver.close()
            store.close()

        return GatewayRunner(session), hooks, cleanup

    def close(self) -> None:
        if self._guards is not None:
            self._guards.close()
        if self.audit is not None:
            self.audit.close()
        if self._audit_store is not None:
            self._audit_store.close()

    def __enter__(self) -> CaseRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class RunOptions:
    """How to run a suite."""

    policy: Policy | str | Path | None = None
    epochs: int = 1
    hooks: Sequence[GuardHook] = ()
    grader: Grader | None = None
    detector: RefusalDetector | None = None
    audit_db: str | Path | None = None
    max_steps: int = MAX_STEPS


def run_suite(
    suite: Suite,
    target: Target,
    options: RunOptions | None = None,
    *,
    progress: ProgressFn | None = None,
) -> RunResult:
    """Run every case ``options.epochs`` times; ``progress(case, epoch)`` after each run."""
    opts = options or RunOptions()
    if opts.epochs < 1:
        raise ConfigError("epochs must be at least 1")
    started = datetime.now(UTC).isoformat(timespec="seconds")
    t0 = time.perf_counter()
    summaries = [CaseSummary(case) for case in suite.cases]
    with CaseRunner(target, environment=suite.env(), policy=opts.policy, hooks=opts.hooks,
                    grader=opts.grader, detector=opts.detector, audit_db=opts.audit_db,
                    principal=suite.principal, max_steps=opts.max_steps) as runner:  # fmt: skip
        for epoch in range(opts.epochs):
            for summary in summaries:
                case = summary.case
                summary.runs.append(runner.run(case, setup=suite.setup_for(case), epoch=epoch))
                if progress is not None:
                    progress(case, epoch)
        policy = runner.policy
    policy_info = None
    if policy is not None:
        policy_info = {"name": policy.name, "digest": policy.digest, "source": policy.source}
    suite_info = {"name": suite.name, "source": suite.source, "digest": suite.digest,
                  "environment": suite.environment, "cases": len(suite.cases)}  # fmt: skip
    return RunResult(suite_info, target.name, policy_info, opts.epochs, started,
                     time.perf_counter() - t0, summaries)  # fmt: skip
