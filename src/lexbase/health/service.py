"""Dependency checks behind the health endpoints."""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import structlog

from lexbase import __version__
from lexbase.core.db import transaction
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
    async with transaction(resources.sessionmaker) as session:
        jobs = JobRepository(session)
        depth = await jobs.unfinished_count(principal.organization_id)
        server_depth = await jobs.unfinished_count() if operator else None
    embedded = settings.job_backend == "embedded"
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
            depth=depth,
            workers=settings.embedded_workers if embedded else None,
            server_depth=server_depth,
        ),
    )


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
