"""The pipeline: thresholds, actions, the low-confidence band, and failing closed."""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections.abc import Sequence

import pytest

from ringfence.exceptions import ConfigError
from ringfence.guards import Finding, GuardPipeline, GuardStep
from ringfence.provenance import Label


class Scripted:
    """A guard that returns one finding with a fixed score (or nothing for score None)."""

    default_action = "block"
    threshold = 0.5

    def __init__(self, name: str = "scripted", score: float | None = 0.9, span=None) -> None:
        self.name = name
        self.score = score
        self.span = span

    def check(self, text: str, label: Label) -> Sequence[Finding]:
        if self.score is None:
            return []
        return [Finding(self.name, "thing", self.score, self.span, "found a thing")]


class Raises(Scripted):
    def check(self, text: str, label: Label) -> Sequence[Finding]:
        raise RuntimeError("boom")


class Hangs(Scripted):
    def __init__(self) -> None:
        super().__init__("hangs")
        self.release = threading.Event()

    def check(self, text: str, label: Label) -> Sequence[Finding]:
        self.release.wait(10)
        return []


class Returns(Scripted):
    def __init__(self, value: object) -> None:
        super().__init__("returns")
        self.value = value

    def check(self, text: str, label: Label) -> Sequence[Finding]:
        return self.value  # type: ignore[return-value]


class Masks(Scripted):
    def __init__(self, name: str, word: str) -> None:
        super().__init__(name)
        self.word = word

    def check(self, text: str, label: Label) -> Sequence[Finding]:
        at = text.find(self.word)
        return [] if at < 0 else [Finding(self.name, "word", 1.0, (at, at + len(self.word)), "")]

    def rewrite(self, text: str) -> str:
        return text.replace(self.word, "***")


def run(*steps, text: str = "some text", direction="input", **kw):
    with GuardPipeline({direction: list(steps)}, **kw) as pipeline:
        return pipeline.evaluate(text, None, direction)


def test_no_guards_passes():
    report = run()
    assert report.result.verdict == "pass"
    assert report.result.findings == ()


def test_finding_at_threshold_gets_the_action():
    report = run(GuardStep(Scripted(score=0.5), action="flag"))
    assert report.result.verdict == "flag"
    assert report.actions == ("flag",)
    assert report.result.findings[0].kind == "thing"


def test_finding_below_threshold_is_dropped():
    report = run(GuardStep(Scripted(score=0.49)))
    assert report.result.verdict == "pass"
    assert report.result.findings == ()


def test_policy_threshold_overrides_the_guards():
    assert run(GuardStep(Scripted(score=0.7), threshold=0.8)).result.verdict == "pass"
    assert run(GuardStep(Scripted(score=0.3), threshold=0.2)).result.verdict == "block"


def test_default_action_comes_from_the_guard():
    report = run(Scripted(score=0.9))
    assert report.actions == ("block",)
    assert report.result.blocked


def test_low_confidence_band_gets_its_action_and_an_uncertain_kind():
    step = GuardStep(Scripted(score=0.6), threshold=0.8, low_above=0.5, low_action="approve")
    report = run(step)
    assert report.result.verdict == "flag"
    assert report.actions == ("approve",)
    assert report.result.findings[0].kind == "thing.uncertain"
    below = run(GuardStep(Scripted(score=0.4), threshold=0.8, low_above=0.5))
    assert below.result.verdict == "pass"


def test_refuse_blocks_and_gives_the_refusal_template():
    step = GuardStep(Scripted(score=0.6), threshold=0.8, low_above=0.5, low_action="refuse")
    result = run(step, refusal_template="No can do.").result
    assert result.verdict == "block"
    assert result.text == "No can do."


def test_log_action_keeps_the_finding_and_passes():
    report = run(GuardStep(Scripted(score=0.9), action="log"))
    assert report.result.verdict == "pass"
    assert len(report.result.findings) == 1


def test_worst_verdict_wins():
    report = run(
        GuardStep(Scripted("a", 0.9), action="flag"),
        GuardStep(Scripted("b", 0.9), action="block"),
        GuardStep(Scripted("c", None)),
    )
    assert report.result.verdict == "block"
    assert [f.guard for f in report.result.findings] == ["a", "b"]


def test_a_guard_that_raises_gives_error():
    result = run(Scripted("ok", None), Raises("bad")).result
    assert result.verdict == "error"
    assert result.blocked
    assert any("boom" in e for e in result.errors)
    assert result.findings[0].kind == "guard.error"


def test_a_guard_that_hangs_gives_error_at_the_deadline():
    hang = Hangs()
    try:
        result = run(Scripted("ok", None), hang, deadline_ms=50).result
    finally:
        hang.release.set()
    assert result.verdict == "error"
    assert any("timed out" in e for e in result.errors)
    assert result.latency_ms < 2000


@pytest.mark.parametrize(
    "value",
    [None, "text", [object()], [Finding("x", "k", math.nan, None, "")],
     [Finding("x", "k", 1.5, None, "")], [Finding("x", "k", -0.1, None, "")]],
)  # fmt: skip
def test_a_malformed_answer_gives_error(value):
    result = run(Returns(value)).result
    assert result.verdict == "error"
    assert result.errors


def test_on_error_flag_or_pass_only_when_said_and_still_reported():
    flagged = run(GuardStep(Raises("bad"), on_error="flag")).result
    assert flagged.verdict == "flag"
    assert flagged.errors
    passed = run(GuardStep(Raises("bad"), on_error="pass")).result
    assert passed.verdict == "pass"
    assert passed.errors
    assert passed.findings[0].kind == "guard.error"


def test_guards_run_concurrently():
    barrier = threading.Barrier(2, timeout=5)

    class Meets(Scripted):
        def check(self, text, label):
            barrier.wait()  # both must be running at once, or this times out
            return []

    result = run(Meets("a"), Meets("b"), deadline_ms=5000).result
    assert result.verdict == "pass"
    assert result.errors == ()


def test_redaction_rewrites_in_order():
    report = run(
        GuardStep(Masks("m1", "alpha"), action="redact"),
        GuardStep(Masks("m2", "beta"), action="redact"),
        GuardStep(Masks("m3", "gamma"), action="flag"),
        text="alpha beta gamma",
    )
    assert report.result.verdict == "flag"
    assert report.result.text == "*** *** gamma"


def test_a_failing_rewrite_is_an_error_and_drops_the_text():
    class BadMask(Masks):
        def rewrite(self, text):
            raise ValueError("cannot")

    result = run(GuardStep(BadMask("m", "alpha"), action="redact"), text="alpha").result
    assert result.verdict == "error"
    assert result.text is None


def test_finding_guard_names_are_the_step_names():
    report = run(GuardStep(Scripted("inner"), name="outer"))
    assert report.result.findings[0].guard == "outer"


def test_bad_construction_is_a_config_error():
    with pytest.raises(ConfigError):
        GuardPipeline({"sideways": []})  # type: ignore[dict-item]
    with pytest.raises(ConfigError):
        GuardPipeline({"input": [Scripted("a"), Scripted("a")]})
    with pytest.raises(ConfigError):
        GuardPipeline({"input": [GuardStep(Scripted(), threshold=0.5, low_above=0.6)]})
    with pytest.raises(ConfigError):
        GuardPipeline(deadline_ms=0)
    with GuardPipeline() as pipeline, pytest.raises(ConfigError):
        pipeline.run(b"bytes", None, "input")  # type: ignore[arg-type]


def test_arun_matches_run_and_fails_closed():
    hang = Hangs()

    class AsyncFinds(Scripted):
        async def acheck(self, text, label):
            await asyncio.sleep(0)
            return [Finding(self.name, "async", 0.9, None, "")]

    pipeline = GuardPipeline(
        {"output": [AsyncFinds("a"), Raises("r"), hang, Scripted("s", 0.9)]}, deadline_ms=100
    )
    try:
        result = asyncio.run(pipeline.arun("text", None, "output"))
    finally:
        hang.release.set()
        pipeline.close()
    assert result.verdict == "error"
    kinds = sorted(f.kind for f in result.findings)
    assert kinds == ["async", "guard.error", "guard.error", "thing"]


def test_introspection():
    pipeline = GuardPipeline({"output": [Scripted("a"), Scripted("b")]})
    assert pipeline.guards("output") == ["a", "b"]
    assert pipeline.guards("input") == []
    assert pipeline.guard("output", "b").name == "b"
    with pytest.raises(ConfigError):
        pipeline.guard("output", "c")


class Slow(Scripted):
    """An inline (bounded, built-in style) guard that takes ``seconds``."""

    inline = True

    def __init__(self, name: str, seconds: float) -> None:
        super().__init__(name, None)
        self.seconds = seconds
        self.thread: str | None = None

    def check(self, text: str, label: Label) -> Sequence[Finding]:
        self.thread = threading.current_thread().name
        time.sleep(self.seconds)
        return []


def test_inline_guards_run_in_the_calling_thread_and_others_in_workers():
    inline, threaded = Slow("inline", 0), Slow("threaded", 0)
    threaded.inline = False
    assert run(inline, threaded).result.verdict == "pass"
    assert inline.thread == threading.current_thread().name
    assert threaded.thread != inline.thread


def test_an_inline_guard_that_finishes_late_is_an_error_and_so_is_the_next_one():
    result = run(Slow("slow", 0.1), Slow("next", 0), deadline_ms=20).result
    assert result.verdict == "error"
    assert any("slow: timed out (finished after the deadline)" in e for e in result.errors)
    assert any("next: timed out (deadline exceeded before it ran)" in e for e in result.errors)


def test_an_inline_guard_that_raises_or_answers_badly_is_an_error():
    class BadInline(Raises):
        inline = True

    class WeirdInline(Returns):
        inline = True

    assert run(BadInline("bad")).result.verdict == "error"
    assert run(WeirdInline("text")).result.verdict == "error"


def test_isolate_runs_even_inline_guards_in_threads_and_cuts_them_off():
    hang = Hangs()
    hang.inline = True
    try:
        result = run(hang, deadline_ms=50, isolate=True).result
    finally:
        hang.release.set()
    assert result.verdict == "error"
    assert any("timed out (deadline exceeded)" in e for e in result.errors)


def test_inline_rewrites_after_the_deadline_do_not_count():
    class SlowMask(Masks):
        inline = True

        def rewrite(self, text):
            time.sleep(0.1)
            return super().rewrite(text)

    result = run(GuardStep(SlowMask("m", "alpha"), action="redact"), text="alpha",
                 deadline_ms=30).result  # fmt: skip
    assert result.verdict == "error"
    assert result.text is None
