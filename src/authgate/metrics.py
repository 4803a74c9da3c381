"""Prometheus metrics: counters, histograms and gauges, and their text exposition.

A few dozen lines instead of a dependency, because they sit on the hot path: counting a
request is one dict update, observing a latency a bisect and two updates. Values live in
the process (each instance is scraped on its own, as Prometheus expects); the text
format is version 0.0.4 (``text/plain; version=0.0.4``).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Sequence
from typing import TypeVar

__all__ = [
    "CONTENT_TYPE",
    "AuthgateMetrics",
    "Counter",
    "Gauge",
    "Histogram",
    "MetricsRegistry",
]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

#: seconds: from a cached API key (tens of µs) to a slow database or JWKS fetch
LATENCY_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(names: Sequence[str], values: Sequence[str], extra: str = "") -> str:
    parts = [f'{n}="{_escape(v)}"' for n, v in zip(names, values, strict=True)]
    if extra:
        parts.append(extra)
    return "{" + ",".join(parts) + "}" if parts else ""


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value)) if not float(value).is_integer() else str(int(value))


class _Metric:
    kind = ""

    def __init__(self, name: str, help: str, labels: Sequence[str] = ()) -> None:
        self.name = name
        self.help = help
        self.labelnames = tuple(labels)

    def header(self) -> list[str]:
        return [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} {self.kind}"]

    def samples(self) -> list[str]:
        raise NotImplementedError


class Counter(_Metric):
    """A count that only goes up, per label values."""

    kind = "counter"

    def __init__(
        self,
        name: str,
        help: str,
        labels: Sequence[str] = (),
        more: Callable[[], dict[tuple[str, ...], float]] | None = None,
    ) -> None:
        """``more``: counts kept elsewhere (a hot path's own dict), added when read."""
        super().__init__(name, help, labels)
        self.values: dict[tuple[str, ...], float] = {}
        self.more = more

    def inc(self, *labels: str, amount: float = 1.0) -> None:
        self.values[labels] = self.values.get(labels, 0.0) + amount

    def totals(self) -> dict[tuple[str, ...], float]:
        out = dict(self.values)
        for key, n in (self.more() if self.more is not None else {}).items():
            out[key] = out.get(key, 0.0) + n
        return out

    def get(self, *labels: str) -> float:
        return self.totals().get(labels, 0.0)

    def samples(self) -> list[str]:
        return [
            f"{self.name}{_labels(self.labelnames, k)} {_number(v)}"
            for k, v in sorted(self.totals().items())
        ]


class Gauge(_Metric):
    """A value read when scraped (a queue's depth, a cache's size)."""

    kind = "gauge"

    def __init__(self, name: str, help: str, read: Callable[[], float]) -> None:
        super().__init__(name, help)
        self.read = read

    def samples(self) -> list[str]:
        return [f"{self.name} {_number(self.read())}"]


class Histogram(_Metric):
    """Observations in cumulative buckets (``le``), with their sum and count."""

    kind = "histogram"

    def __init__(
        self,
        name: str,
        help: str,
        labels: Sequence[str] = (),
        buckets: Sequence[float] = LATENCY_BUCKETS,
    ) -> None:
        super().__init__(name, help, labels)
        self.bounds = tuple(sorted(buckets))
        # per label values: [count per bucket..., count above the last bound], sum
        self.series: dict[tuple[str, ...], tuple[list[int], list[float]]] = {}

    def observe(self, value: float, *labels: str) -> None:
        series = self.series.get(labels)
        if series is None:
            series = self.series[labels] = ([0] * (len(self.bounds) + 1), [0.0])
        series[0][bisect.bisect_left(self.bounds, value)] += 1
        series[1][0] += value

    def count(self, *labels: str) -> int:
        series = self.series.get(labels)
        return sum(series[0]) if series else 0

    def samples(self) -> list[str]:
        out = []
        for key, (counts, total) in sorted(self.series.items()):
            running = 0
            for bound, n in zip((*self.bounds, math.inf), counts, strict=True):
                running += n
                le = f'le="{_number(bound)}"'
                out.append(f"{self.name}_bucket{_labels(self.labelnames, key, le)} {running}")
            out.append(f"{self.name}_sum{_labels(self.labelnames, key)} {_number(total[0])}")
            out.append(f"{self.name}_count{_labels(self.labelnames, key)} {running}")
        return out


M = TypeVar("M", bound=_Metric)


class MetricsRegistry:
    """The metrics of one process, rendered for ``GET /metrics``."""

    def __init__(self) -> None:
        self.metrics: dict[str, _Metric] = {}

    def add(self, metric: M) -> M:
        """Register ``metric`` (its name once) and return it."""
        if metric.name in self.metrics:
            raise ValueError(f"metric {metric.name!r} is registered already")
        self.metrics[metric.name] = metric
        return metric

    def render(self) -> bytes:
        lines: list[str] = []
        for metric in self.metrics.values():
            lines += metric.header()
            lines += metric.samples()
        return ("\n".join(lines) + "\n").encode()


class AuthgateMetrics:
    """What ``authgate serve`` exposes at ``/metrics``.

    - ``authgate_requests_total{scheme,outcome}``: authenticated requests by scheme
      (``none`` without credentials), outcome ``success``, ``anonymous`` or ``failure``;
    - ``authgate_verification_seconds{scheme}``: time to verify credentials through the
      scheme chain (not counted for answers from the verified-identity cache);
    - ``authgate_identity_cache_total{result}``: the verified-identity cache, ``hit`` or
      ``miss`` (a hit skips the chain entirely);
    - ``authgate_ratelimit_decisions_total{decision}``: ``allowed``, ``refused``, and
      ``store_error`` (the shared store did not answer: failed open or closed);
    - ``authgate_audit_queue_depth``: audit events waiting to be written.
    """

    def __init__(self, audit_queue_depth: Callable[[], float] = lambda: 0.0) -> None:
        self.registry = MetricsRegistry()
        add = self.registry.add
        #: answers from the verified-identity cache, per scheme: the hot path counts them
        #: with one dict update; they are successes and cache hits when scraped
        self.cache_hits: dict[str, int] = {}
        self.requests = add(
            Counter(
                "authgate_requests_total",
                "Requests authenticated, by scheme and outcome.",
                ("scheme", "outcome"),
                more=lambda: {(s, "success"): n for s, n in self.cache_hits.items()},
            )
        )
        self.verification = add(
            Histogram(
                "authgate_verification_seconds",
                "Seconds to verify a request's credentials through the scheme chain.",
                ("scheme",),
            )
        )
        self.identity_cache = add(
            Counter(
                "authgate_identity_cache_total",
                "Lookups in the verified-identity cache, by result.",
                ("result",),
                more=lambda: {("hit",): sum(self.cache_hits.values())},
            )
        )
        self.ratelimit = add(
            Counter(
                "authgate_ratelimit_decisions_total",
                "Rate-limit decisions: allowed, refused, store_error.",
                ("decision",),
            )
        )
        self.audit_queue = add(
            Gauge(
                "authgate_audit_queue_depth",
                "Audit events queued, not yet written.",
                audit_queue_depth,
            )
        )
