"""Guards: latency of the full default input pipeline on 4 KB of text, and detector quality.

    ringfence bench guards --json

Latency: the default ``input`` pipeline (size, unicode, encoding with decode-and-rescan, injection
detector), run through :meth:`GuardPipeline.run` (thread hand-off and deadline included) on 4,096
characters of realistic mixed text (support messages, e-mails, notes; some non-ASCII, URLs,
numbers), built from a fixed seed. ``pipeline_p50_ms`` / ``pipeline_p99_ms``: steady state (every
document seen once before, as in a long-running server); ``cold_p50_ms``: each document's first
run. ``per_guard_p50_ms``: each guard's ``check`` alone, in the calling thread.
``reference_us`` times ``sum(range(10_000))`` and ``load_avg`` is the 1-minute load average, so
figures from a busy or slower machine can be put in context.

Quality: :func:`evaluate_detector` on the held-out test splits (needs ``make corpora``).
"""

from __future__ import annotations

import json
import os
import platform
import random
import statistics
import time
import timeit
from typing import Any

import click

from ringfence.guards import build_pipeline
from ringfence.guards._pipeline import DEFAULT_LABELS

TEXT_CHARS = 4096

PARAGRAPHS = [
    "Hi team, the customer from Zürich (order #48213) says the kettle arrived with a cracked "
    "lid. She'd like a replacement rather than a refund — can we ship one by Friday?",
    "Thanks for reaching out! Your parcel left our warehouse on 12 March and should arrive "
    "within two working days. You can track it at https://track.example.com/p/48213.",
    "Meeting notes: we agreed to move the release to next Tuesday, José will update the "
    "changelog, and Priya will check the migration on the staging database first.",
    "Returns are free within 30 days. Items must be unused and in their original packaging; "
    "refunds go back to the original payment method within 5–7 business days.",
    "The invoice total was €1,249.90 including VAT. Please pay to the account on the invoice "
    "and quote the reference INV-2024-0917 so our accounts team can match it.",
    "Could you summarise the attached report in three bullet points? Focus on revenue, churn "
    "and the hiring plan, and ignore the appendix with the raw survey data.",
    "Our support team is available Monday to Friday, 9:00–18:00 CET. For urgent issues call "
    "+44 20 7946 0958 or write to support@example.com.",
    "The new dashboard loads in 1.2 s on average, down from 3.4 s. Most of the gain came from "
    "caching the product catalogue and lazy-loading the charts.",
    "I tried resetting my password twice but the e-mail never arrived. My username is "
    "k.nakamura and I signed up with my work address last autumn.",
    "Product description: stainless steel, 1.7 litre capacity, automatic shut-off, removable "
    "limescale filter and a two-year warranty. Available in black, white and “sage green”.",
    "Reminder: the quarterly security training is due by the end of the month. It covers "
    "phishing, password managers and how to report a suspicious message.",
    "Dear Mr. Müller, thank you for your patience. We have issued a partial refund of $35.00 "
    "for the damaged item; the rest of the order is unaffected.",
    "Here's the plan for the offsite: arrive Thursday evening, workshops Friday, hike on "
    "Saturday morning if the weather holds, and back home by Sunday lunch.",
    "The API returns a 429 when you exceed 100 requests per minute. Back off exponentially "
    "and retry; see https://docs.example.com/rate-limits for the details.",
]


def documents(count: int, seed: int = 7) -> list[str]:
    """``count`` distinct texts of exactly TEXT_CHARS characters."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        text = ""
        while len(text) < TEXT_CHARS:
            text += rng.choice(PARAGRAPHS) + ("\n\n" if rng.random() < 0.3 else " ")
        out.append(text[:TEXT_CHARS])
    return out


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
    return round(statistics.median(ordered), 3), round(p99, 3)


def measure_pipeline(runs: int, docs: int) -> dict[str, Any]:
    texts = documents(docs)
    start = time.perf_counter()
    pipeline = build_pipeline()
    build_ms = (time.perf_counter() - start) * 1000
    label = DEFAULT_LABELS["input"]
    with pipeline:
        cold = [_timed(pipeline.run, t, label) for t in texts]
        verdicts = {pipeline.run(t, label, "input").verdict for t in texts}
        warm = [_timed(pipeline.run, texts[i % docs], label) for i in range(runs)]
        per_guard = {
            name: _percentiles(
                [_timed_check(pipeline, name, texts[i % docs]) for i in range(runs)]
            )[0]
            for name in pipeline.guards("input")
        }
    p50, p99 = _percentiles(warm)
    return {
        "pipeline_p50_ms": p50,
        "pipeline_p99_ms": p99,
        "cold_p50_ms": _percentiles(cold)[0],
        "per_guard_p50_ms": per_guard,
        "guards": pipeline.guards("input"),
        "build_ms": round(build_ms, 1),
        "verdicts": sorted(verdicts),
        "runs": runs,
        "documents": docs,
        "text_chars": TEXT_CHARS,
    }


def _timed(run: Any, text: str, label: Any) -> float:
    start = time.perf_counter()
    run(text, label, "input")
    return (time.perf_counter() - start) * 1000


def _timed_check(pipeline: Any, name: str, text: str) -> float:
    guard = pipeline.guard("input", name)
    start = time.perf_counter()
    guard.check(text, DEFAULT_LABELS["input"])
    return (time.perf_counter() - start) * 1000


def detector_quality() -> dict[str, Any]:
    from ringfence.guards._detector import InjectionDetector
    from ringfence.guards._detector_corpora import CorporaMissingError
    from ringfence.guards._detector_eval import evaluate_detector

    try:
        return evaluate_detector(InjectionDetector.load())
    except CorporaMissingError as exc:
        return {"skipped": f"{exc} (or: make corpora)"}


@click.command("guards")
@click.option("--json", "as_json", is_flag=True, help="One line of JSON (default: indented).")
@click.option("--runs", default=1000, show_default=True, help="Timed pipeline runs.")
@click.option("--docs", default=50, show_default=True, help="Distinct 4 KB documents.")
@click.option("--skip-detector", is_flag=True, help="Do not evaluate detector quality.")
def cli(as_json: bool, runs: int, docs: int, skip_detector: bool) -> None:
    """Latency of the default input pipeline on 4 KB, and detector quality per held-out split."""
    out: dict[str, Any] = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "load_avg": round(os.getloadavg()[0], 2),
        "reference_us": round(
            min(timeit.repeat("sum(range(10_000))", number=20, repeat=5)) / 20 * 1e6, 1
        ),
    }
    out.update(measure_pipeline(runs, docs))
    out["detector"] = {"skipped": "--skip-detector"} if skip_detector else detector_quality()
    click.echo(json.dumps(out, indent=None if as_json else 2))


if __name__ == "__main__":
    cli()
