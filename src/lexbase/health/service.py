"""Dependency checks behind the health endpoints."""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import structlog
from prometheus_client import CollectorRegistry, Gauge, generate_latest
from redis.exceptions import RedisError

from lexbase import __version__
from lexbase.core.db import DATABASE_ERRORS, transaction, utcnow
from lexbase.core.principal import Principal
from lexbase.core.resources import Resources
from lexbase.health.repository import ping_database
from lexbase.health.schemas import (
    CheckOut,
    DetailedHealthOut,
    DiskOut,
    ModelState,
    QueueOut,
    ReadinessOut,
    ReadinessStatus,
)
from lexbase.jobs import presence
from lexbase.jobs.repository import JobRepository

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    latency_ms: float
    error: str | None = None


async def _timed(
    name: str, probe: Callable[[], Awaitable[object]], limit_seconds: float
) -> CheckResult:
    started = time.perf_counter()
    try:
        await asyncio.wait_for(probe(), timeout=limit_seconds)
    except Exception as exc:  # any failure of a dependency means "not ready", never a 500
        elapsed = (time.perf_counter() - started) * 1000
        log.warning("health.check_failed", check=name, error_type=type(exc).__name__)
        reason = "timed out" if isinstance(exc, TimeoutError) else type(exc).__name__
        return CheckResult(name, False, round(elapsed, 2), reason)
    return CheckResult(name, True, round((time.perf_counter() - started) * 1000, 2))


_STARTED = time.monotonic()


def readiness(checks: list[CheckResult], models: dict[str, ModelState]) -> ReadinessOut:
    """Ready when every dependency answers and every model is loaded. A model still being
    made or loaded is `warming` (a first start may spend a minute making the embedder)."""
    status: ReadinessStatus
    if not all(c.ok for c in checks) or "failed" in models.values():
        status = "not_ready"
    elif any(state != "ready" for state in models.values()):
        status = "warming"
    else:
        status = "ready"
    return ReadinessOut(status=status, checks=_check_bodies(checks), models=models)


def _check_bodies(checks: list[CheckResult]) -> dict[str, CheckOut]:
    return {
        c.name: CheckOut(status="ok" if c.ok else "down", latency_ms=c.latency_ms, error=c.error)
        for c in checks
    }


async def detailed(resources: Resources, principal: Principal) -> DetailedHealthOut:
    """Dependencies and the caller's firm's queue for a firm's admin; the server's paths,
    disk and every firm's queue only for an operator."""
    checks = await run_checks(resources)
    settings = resources.settings
    operator = principal.is_operator
    queue = await queue_figures(resources, principal.organization_id)
    server_depth = (await queue_figures(resources)).depth if operator else None
    return DetailedHealthOut(
        view="server" if operator else "organization",
        status="ok" if all(c.ok for c in checks) else "degraded",
        version=__version__,
        environment=settings.env.value,
        uptime_seconds=round(time.monotonic() - _STARTED, 1),
        database=resources.engine.dialect.name,
        checks=_check_bodies(checks),
        disk=await _disk(settings.data_dir) if operator else None,
        queue=QueueOut(
            backend=settings.job_backend,
            depth=queue.depth,
            oldest_age_seconds=queue.oldest_age_seconds,
            workers=queue.workers,
            server_depth=server_depth,
        ),
    )


@dataclass(frozen=True)
class QueueFigures:
    depth: int  # queued and running jobs
    oldest_age_seconds: float  # how long the longest-waiting due job has waited (0: none)
    workers: int | None


async def queue_figures(resources: Resources, organization_id: str | None = None) -> QueueFigures:
    """The queue of one organization, or of the server; and the workers serving it."""
    async with transaction(resources.statement_reads) as session:
        jobs = JobRepository(session)
        depth = await jobs.unfinished_count(organization_id)
        oldest = await jobs.oldest_due_at(organization_id)
    age = 0.0 if oldest is None else max((utcnow() - oldest).total_seconds(), 0.0)
    return QueueFigures(depth, round(age, 3), await _workers(resources))


async def _workers(resources: Resources) -> int | None:
    settings = resources.settings
    if settings.job_backend == "embedded":
        return settings.embedded_workers
    if resources.redis is None:
        return None
    try:
        return await presence.live_workers(resources.redis)
    except (RedisError, OSError):
        return None


async def scrape_gauges(resources: Resources) -> bytes:
    """The gauges read when `/metrics` is scraped: the server's queue, live workers and the
    data disk. A dependency that is down leaves its gauges out rather than fail the scrape."""
    registry = CollectorRegistry()
    try:
        queue = await asyncio.wait_for(
            queue_figures(resources), resources.settings.ready_timeout_seconds
        )
    except (TimeoutError, *DATABASE_ERRORS):
        log.warning("metrics.queue_unavailable")
    else:
        Gauge("lexbase_queue_depth", "Queued and running jobs", registry=registry).set(queue.depth)
        Gauge(
            "lexbase_queue_oldest_age_seconds",
            "Seconds the longest-waiting due job has waited",
            registry=registry,
        ).set(queue.oldest_age_seconds)
        if queue.workers is not None:
            Gauge("lexbase_workers", "Job workers alive", registry=registry).set(queue.workers)
    disk = await _disk(resources.settings.data_dir)
    Gauge(
        "lexbase_data_disk_free_ratio",
        "Free share of the disk holding the data directory",
        registry=registry,
    ).set(round(disk.free_bytes / disk.total_bytes, 4) if disk.total_bytes else 0.0)
    return generate_latest(registry)


async def _disk(data_dir: Path) -> DiskOut:
    return await asyncio.to_thread(_disk_usage, data_dir)


def _disk_usage(data_dir: Path) -> DiskOut:
    disk_path = data_dir if data_dir.exists() else Path(".")
    usage = shutil.disk_usage(disk_path)
    return DiskOut(
        path=str(disk_path.resolve()),
        total_bytes=usage.total,
        free_bytes=usage.free,
        used_ratio=round(usage.used / usage.total, 4) if usage.total else 0.0,
    )


async def run_checks(resources: Resources) -> list[CheckResult]:
    timeout = resources.settings.ready_timeout_seconds
    probes: list[tuple[str, Callable[[], Awaitable[object]]]] = [
        ("database", lambda: ping_database(resources.engine)),
        ("storage", resources.blobs.ping),
    ]
    redis = resources.redis
    if redis is not None:
        probes.append(("redis", redis.ping))
    return list(await asyncio.gather(*(_timed(name, probe, timeout) for name, probe in probes)))
