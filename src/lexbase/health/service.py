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
from lexbase.core.resources import Resources
from lexbase.health.repository import ping_database
from lexbase.health.schemas import CheckOut, DetailedHealthOut, DiskOut

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


async def detailed(resources: Resources) -> DetailedHealthOut:
    checks = await run_checks(resources)
    settings = resources.settings
    disk_path = settings.data_dir if settings.data_dir.exists() else Path(".")
    usage = await asyncio.to_thread(shutil.disk_usage, disk_path)
    return DetailedHealthOut(
        status="ok" if all(c.ok for c in checks) else "degraded",
        version=__version__,
        environment=settings.env.value,
        uptime_seconds=round(time.monotonic() - _STARTED, 1),
        database=resources.engine.dialect.name,
        checks={
            c.name: CheckOut(
                status="ok" if c.ok else "down", latency_ms=c.latency_ms, error=c.error
            )
            for c in checks
        },
        disk=DiskOut(
            path=str(disk_path.resolve()),
            total_bytes=usage.total,
            free_bytes=usage.free,
            used_ratio=round(usage.used / usage.total, 4) if usage.total else 0.0,
        ),
        # Background jobs arrive with document ingestion; until then there is no queue.
        queue={"backend": None, "depth": None, "workers": None},
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
