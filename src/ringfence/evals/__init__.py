"""Evaluation harness: suites, targets, deterministic scorers, metrics with intervals,
baselines and gates, and reports (JSON, JUnit XML, HTML).

Run a suite::

    suite = load_suite("support-desk")
    result = run_suite(suite, make_target("reference:worst-case"), RunOptions(policy="shipped"))

Run and score one case (what a red-team campaign does per attempt)::

    with CaseRunner(make_target("reference:worst-case"), policy="shipped") as runner:
        result = runner.run(case)       # result.outcome, result.score.checks, result.transcript
"""

from ringfence.evals._baseline import (
    CaseChange,
    GateResult,
    MetricChange,
    RunDiff,
    diff_runs,
    evaluate_gates,
    load_results,
)
from ringfence.evals._grader import LabelledGrade, ModelGrader, grader_agreement
from ringfence.evals._loader import (
    Suite,
    bundled_suites,
    case_to_dict,
    dump_suite,
    load_suite,
    suite_from_jsonl,
    suite_from_yaml,
)
from ringfence.evals._metrics import (
    HEADLINE,
    Metric,
    bootstrap_mean,
    by_category,
    by_tag,
    compute,
    proportion,
    wilson,
)
from ringfence.evals._refusal import (
    Agreement,
    PatternRefusalDetector,
    RefusalDetector,
    refusal_agreement,
)
from ringfence.evals._report import write_html, write_json, write_junit
from ringfence.evals._results import CaseResult, CaseSummary, RunResult
from ringfence.evals._runner import (
    CaseRunner,
    ProgressFn,
    RunOptions,
    resolve_policy,
    run_suite,
)
from ringfence.evals._schema import (
    CallMatcher,
    CallStatus,
    Case,
    Category,
    Checks,
    Matcher,
    Ops,
    Outcome,
    StateCheck,
    SuiteMeta,
)
from ringfence.evals._scoring import CheckResult, Grader, GradeResult, Score, score_case
from ringfence.evals._targets import (
    TARGET_KINDS,
    AgentInput,
    AgentReply,
    AgentTarget,
    Episode,
    PythonTarget,
    Target,
    make_target,
    target_kind,
)

__all__ = [
    "HEADLINE",
    "TARGET_KINDS",
    "AgentInput",
    "AgentReply",
    "AgentTarget",
    "Agreement",
    "CallMatcher",
    "CallStatus",
    "Case",
    "CaseChange",
    "CaseResult",
    "CaseRunner",
    "CaseSummary",
    "Category",
    "CheckResult",
    "Checks",
    "Episode",
    "GateResult",
    "GradeResult",
    "Grader",
    "LabelledGrade",
    "Matcher",
    "Metric",
    "MetricChange",
    "ModelGrader",
    "Ops",
    "Outcome",
    "PatternRefusalDetector",
    "ProgressFn",
    "PythonTarget",
    "RefusalDetector",
    "RunDiff",
    "RunOptions",
    "RunResult",
    "Score",
    "StateCheck",
    "Suite",
    "SuiteMeta",
    "Target",
    "bootstrap_mean",
    "bundled_suites",
    "by_category",
    "by_tag",
    "case_to_dict",
    "compute",
    "diff_runs",
    "dump_suite",
    "evaluate_gates",
    "grader_agreement",
    "load_results",
    "load_suite",
    "make_target",
    "proportion",
    "refusal_agreement",
    "resolve_policy",
    "run_suite",
    "score_case",
    "suite_from_jsonl",
    "suite_from_yaml",
    "target_kind",
    "wilson",
    "write_html",
    "write_json",
    "write_junit",
]
