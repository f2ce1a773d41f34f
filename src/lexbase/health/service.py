"""Dependency checks behind the health endpoints."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import structlog

from lexbase.core.resources import Resources
from lexbase.health.repository import ping_database

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
