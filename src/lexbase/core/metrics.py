"""Prometheus metrics.

Two kinds:
- `Metrics`: the HTTP metrics one app instance owns (its own registry, so apps never share
  state; tests build many apps in one process).
- `work()`: what the process does beyond HTTP — jobs, documents, model calls, searches,
  rate-limit refusals — in one registry per process, because that work happens where no app
  is in reach (a Celery pool process, the model provider chain). In a `lexbase worker` the
  pool processes write these to files (prometheus_client's multiprocess mode, set up by
  `enable_multiprocess` before the pool forks) and the worker's main process serves the sum.

Queue depth, the oldest queued job's age, live workers and the data disk are read when
`/metrics` is scraped (`health/service.py`), not kept here.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, values
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.multiprocess import MultiProcessCollector

__all__ = [
    "CONTENT_TYPE_LATEST",
    "Metrics",
    "WorkMetrics",
    "enable_multiprocess",
    "multiprocess_registry",
    "work",
]

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# Jobs and model calls last seconds to minutes.
_LONG_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0)


@dataclass
class Metrics:
    registry: CollectorRegistry = field(
        default_factory=lambda: CollectorRegistry(auto_describe=True)
    )

    def __post_init__(self) -> None:
        self.requests = Counter(
            "lexbase_http_requests",
            "HTTP requests by method, route template and status",
            ("method", "route", "status"),
            registry=self.registry,
        )
        self.latency = Histogram(
            "lexbase_http_request_duration_seconds",
            "HTTP request latency by method, route template and status",
            ("method", "route", "status"),
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "lexbase_http_requests_in_flight",
            "HTTP requests being served right now",
            registry=self.registry,
        )

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        labels = (method, route, str(status))
        self.requests.labels(*labels).inc()
        self.latency.labels(*labels).observe(seconds)

    def render(self) -> bytes:
        """This app's HTTP metrics and the process's work metrics."""
        return generate_latest(self.registry) + generate_latest(work().registry)


class WorkMetrics:
    """Counters and histograms of the work a process does (see the module's docstring)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.documents = Counter(
            "lexbase_documents_processed",
            "Document processing outcomes by the stage they ended at",
            ("stage", "outcome"),
            registry=self.registry,
        )
        self.jobs = Counter(
            "lexbase_jobs",
            "Job runs by type and outcome (succeeded, failed, retried)",
            ("type", "outcome"),
            registry=self.registry,
        )
        self.job_duration = Histogram(
            "lexbase_job_duration_seconds",
            "Time a job run took, by type and outcome",
            ("type", "outcome"),
            buckets=_LONG_BUCKETS,
            registry=self.registry,
        )
        self.model_calls = Counter(
            "lexbase_model_calls",
            "Language model calls by provider, model and outcome",
            ("provider", "model", "outcome"),
            registry=self.registry,
        )
        self.model_latency = Histogram(
            "lexbase_model_call_duration_seconds",
            "Language model call latency by provider and model",
            ("provider", "model"),
            buckets=_LONG_BUCKETS,
            registry=self.registry,
        )
        self.model_tokens = Counter(
            "lexbase_model_tokens",
            "Tokens sent to and received from language models (kind: prompt, completion)",
            ("provider", "model", "kind"),
            registry=self.registry,
        )
        self.model_cost = Counter(
            "lexbase_model_cost_usd",
            "Estimated cost of language model calls, in US dollars",
            ("provider", "model"),
            registry=self.registry,
        )
        self.search_latency = Histogram(
            "lexbase_search_duration_seconds",
            "Search latency by mode (keyword, semantic, hybrid)",
            ("mode",),
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.rate_limited = Counter(
            "lexbase_rate_limit_rejections",
            "Requests refused with 429 by limit class",
            ("limit",),
            registry=self.registry,
        )


@functools.cache
def work() -> WorkMetrics:
    """This process's work metrics (made on first use: after `enable_multiprocess` in a
    worker, so the pool processes forked from it write to the shared directory)."""
    return WorkMetrics()


def enable_multiprocess(directory: Path) -> None:
    """Make metrics created from now on in this process and its forks write to files under
    `directory` (emptied first: files of a previous run would be summed in)."""
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink()
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)
    values.ValueClass = values.MultiProcessValue()  # type: ignore[no-untyped-call]
    work.cache_clear()


def multiprocess_registry(directory: Path) -> CollectorRegistry:
    """A registry that sums what every process wrote under `directory`."""
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(directory))  # type: ignore[no-untyped-call]
    return registry
