"""Prometheus metrics in the text exposition format, without a client library.

Counters and histograms with labels; ``Registry.render()`` gives the ``/metrics`` body.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Sequence

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

LabelValues = tuple[str, ...]


def _fmt_labels(names: Sequence[str], values: LabelValues, extra: str = "") -> str:
    parts = [f'{n}="{_escape(v)}"' for n, v in zip(names, values, strict=True)]
    if extra:
        parts.append(extra)
    return "{" + ",".join(parts) + "}" if parts else ""


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


class Counter:
    def __init__(self, name: str, help_: str, labels: Sequence[str] = ()) -> None:
        self.name, self.help, self.labels = name, help_, tuple(labels)
        self._values: dict[LabelValues, float] = {}
        self._lock = threading.Lock()

    def inc(self, *values: str, amount: float = 1.0) -> None:
        with self._lock:
            self._values[values] = self._values.get(values, 0.0) + amount

    def value(self, *values: str) -> float:
        return self._values.get(values, 0.0)

    def render(self) -> list[str]:
        lines = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} counter"]
        with self._lock:
            for values, v in sorted(self._values.items()):
                lines.append(f"{self.name}{_fmt_labels(self.labels, values)} {v:g}")
        return lines


class Gauge(Counter):
    def set(self, *values: str, value: float) -> None:
        with self._lock:
            self._values[values] = value

    def render(self) -> list[str]:
        return [
            line.replace(" counter", " gauge", 1) if line.startswith("# TYPE") else line
            for line in super().render()
        ]


class Histogram:
    def __init__(
        self,
        name: str,
        help_: str,
        labels: Sequence[str] = (),
        buckets: Sequence[float] = LATENCY_BUCKETS,
    ) -> None:
        self.name, self.help, self.labels = name, help_, tuple(labels)
        self.buckets = tuple(buckets)
        self._data: dict[LabelValues, tuple[list[int], list[float]]] = {}
        self._lock = threading.Lock()

    def observe(self, value: float, *values: str) -> None:
        with self._lock:
            counts, sums = self._data.setdefault(values, ([0] * (len(self.buckets) + 1), [0.0]))
            counts[bisect.bisect_left(self.buckets, value)] += 1
            sums[0] += value

    def count(self, *values: str) -> int:
        data = self._data.get(values)
        return sum(data[0]) if data else 0

    def render(self) -> list[str]:
        lines = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} histogram"]
        with self._lock:
            for values, (counts, sums) in sorted(self._data.items()):
                running = 0
                for bound, c in zip((*self.buckets, float("inf")), counts, strict=True):
                    running += c
                    le = "+Inf" if bound == float("inf") else f"{bound:g}"
                    labels = _fmt_labels(self.labels, values, f'le="{le}"')
                    lines.append(f"{self.name}_bucket{labels} {running}")
                plain = _fmt_labels(self.labels, values)
                lines.append(f"{self.name}_sum{plain} {sums[0]:.6f}")
                lines.append(f"{self.name}_count{plain} {running}")
        return lines


class Metrics:
    """The proxy's and the MCP gateway's metrics."""

    def __init__(self) -> None:
        self.requests = Counter(
            "ringfence_requests_total",
            "Requests handled, by endpoint and status.",
            ("endpoint", "status"),
        )
        self.decisions = Counter(
            "ringfence_decisions_total", "Tool-call decisions, by decision.", ("decision",)
        )
        self.guard_verdicts = Counter(
            "ringfence_guard_verdicts_total",
            "Guard verdicts, by direction and verdict.",
            ("direction", "verdict"),
        )
        self.guard_latency = Histogram(
            "ringfence_guard_latency_seconds",
            "Guard pipeline latency, by direction.",
            ("direction",),
        )
        self.request_latency = Histogram(
            "ringfence_request_duration_seconds", "Request latency, by endpoint.", ("endpoint",)
        )
        self.upstream_latency = Histogram(
            "ringfence_upstream_duration_seconds", "Upstream latency (to the response head)."
        )
        self.upstream_errors = Counter(
            "ringfence_upstream_errors_total", "Upstream failures, by kind.", ("kind",)
        )
        self.rate_limited = Counter(
            "ringfence_rate_limited_total", "Requests refused by a rate limit."
        )
        self.inflight = Gauge("ringfence_inflight_requests", "Requests being handled.")

    def render(self) -> str:
        lines: list[str] = []
        for metric in (
            self.requests,
            self.decisions,
            self.guard_verdicts,
            self.guard_latency,
            self.request_latency,
            self.upstream_latency,
            self.upstream_errors,
            self.rate_limited,
            self.inflight,
        ):
            lines.extend(metric.render())
        return "\n".join(lines) + "\n"
