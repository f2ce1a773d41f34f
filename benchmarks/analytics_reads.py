"""Analytics reads at a million usage events: the endpoints (per-day rollups plus the events
not rolled up yet) against the same figures computed by scanning the raw events.

    .venv/bin/python benchmarks/analytics_reads.py [--events N] [--requests N]

SQLite in a temporary data dir. One organization of 50 users; N events over the last 90
days (searches, uploads, pages, chat messages, model calls with tokens). Prints the time
the rollup job's batches take for all of them, then p50/p95 of each endpoint over
`--requests` calls (an admin's organization report, a user's usage and tokens, 30 days),
and of the raw-scan queries that would answer the same.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, insert, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for the test factories
from tests.factories import add_user, create_tenant

from lexbase.analytics.models import KINDS, MODEL_CALL, PAGES_PROCESSED, UsageEvent
from lexbase.analytics.rollup import roll_up_batch
from lexbase.app import create_app
from lexbase.core.config import Environment, Settings
from lexbase.core.db import create_engine, create_sessionmaker, new_id, transaction, utcnow
from lexbase.core.logging import configure_logging
from lexbase.core.migrate import upgrade
from lexbase.core.permissions import Role

SECRET = secrets.token_urlsafe(48)
USERS = 50
DAYS = 90
CHUNK = 20_000


def _settings() -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        env=Environment.TEST,
        data_dir=Path(tempfile.mkdtemp(prefix="lexbase-bench-")),
        secret_key=SECRET,
        rate_limit_enabled=False,
        embedded_workers=0,
        worker_warm_up=False,
        usage_rollup_seconds=86_400,  # the benchmark rolls up itself
    )


async def fill(settings: Settings, organization_id: str, users: list[str], count: int) -> None:
    engine = create_engine(settings)
    maker = create_sessionmaker(engine, write=True)
    now, rng = utcnow(), random.Random(7)  # noqa: S311 - test data
    try:
        for offset in range(0, count, CHUNK):
            rows: list[dict[str, Any]] = []
            for _ in range(min(CHUNK, count - offset)):
                kind = rng.choice(KINDS)
                model = kind == MODEL_CALL
                rows.append(
                    {
                        "id": new_id(),
                        "organization_id": organization_id,
                        "user_id": rng.choice(users),
                        "kind": kind,
                        "quantity": rng.randint(1, 40) if kind == PAGES_PROCESSED else 1,
                        "provider": "anthropic" if model else None,
                        "model": "claude-sonnet-5" if model else None,
                        "prompt_tokens": rng.randint(100, 3000) if model else 0,
                        "completion_tokens": rng.randint(10, 500) if model else 0,
                        "estimated_cost": 0.004 if model else 0.0,
                        "outcome": "ok",
                        "rolled_up": False,
                        "created_at": now - timedelta(seconds=rng.uniform(0, DAYS * 86_400)),
                    }
                )
            async with transaction(maker) as session:
                await session.execute(insert(UsageEvent), rows)
    finally:
        await engine.dispose()


async def roll_up(settings: Settings, organization_id: str) -> float:
    engine = create_engine(settings)
    maker = create_sessionmaker(engine, write=True)
    started = time.perf_counter()
    try:
        while True:
            async with transaction(maker) as session:
                if not await roll_up_batch(session, organization_id):
                    break
    finally:
        await engine.dispose()
    return time.perf_counter() - started


async def raw_scans(
    settings: Settings, organization_id: str, user_id: str, requests: int
) -> dict[str, list[float]]:
    """The same figures from the raw events: the organization per user and kind, one user's
    per kind, and one user's tokens per day."""
    engine = create_engine(settings)
    maker = create_sessionmaker(engine)
    since = utcnow() - timedelta(days=30)
    sums = (
        func.count(),
        func.sum(UsageEvent.quantity),
        func.sum(UsageEvent.prompt_tokens),
        func.sum(UsageEvent.completion_tokens),
        func.sum(UsageEvent.estimated_cost),
    )
    in_window = (UsageEvent.organization_id == organization_id) & (UsageEvent.created_at >= since)
    queries = {
        "organization": select(UsageEvent.user_id, UsageEvent.kind, *sums)
        .where(in_window)
        .group_by(UsageEvent.user_id, UsageEvent.kind),
        "usage": select(UsageEvent.kind, *sums)
        .where(in_window & (UsageEvent.user_id == user_id))
        .group_by(UsageEvent.kind),
        "tokens": select(func.date(UsageEvent.created_at), *sums)
        .where(in_window & (UsageEvent.user_id == user_id) & (UsageEvent.kind == MODEL_CALL))
        .group_by(func.date(UsageEvent.created_at)),
    }
    timings: dict[str, list[float]] = {name: [] for name in queries}
    try:
        for _ in range(requests):
            for name, query in queries.items():
                started = time.perf_counter()
                async with maker() as session:
                    (await session.execute(query)).all()
                timings[name].append(time.perf_counter() - started)
    finally:
        await engine.dispose()
    return timings


async def endpoints(
    settings: Settings, admin: dict[str, str], user: dict[str, str], requests: int
) -> dict[str, list[float]]:
    app = create_app(settings)
    timings: dict[str, list[float]] = {"organization": [], "usage": [], "tokens": []}
    async with app.router.lifespan_context(app):
        await app.state.warm_up  # a running service has built its models; not timed
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as c:
            for _ in range(requests):
                for name, headers in (("organization", admin), ("usage", user), ("tokens", user)):
                    started = time.perf_counter()
                    response = await c.get(f"/api/v1/analytics/{name}?days=30", headers=headers)
                    timings[name].append(time.perf_counter() - started)
                    assert response.status_code == 200, response.text
    return timings


def _print(label: str, timings: dict[str, list[float]]) -> None:
    for name, values in timings.items():
        ordered = sorted(values)
        p95 = ordered[max(0, round(len(ordered) * 0.95) - 1)]
        print(
            f"{label:<28} {name:<13} p50 {statistics.median(values) * 1000:8.1f} ms"
            f"   p95 {p95 * 1000:8.1f} ms"
        )


async def measure(count: int, requests: int) -> None:
    settings = _settings()
    upgrade(settings)
    tenant = await create_tenant(settings, "Bench")
    engine = create_engine(settings)
    try:
        async with transaction(create_sessionmaker(engine, write=True)) as session:
            others = [
                (
                    await add_user(
                        session, settings, tenant.organization_id, Role.PARALEGAL, str(n)
                    )
                ).id
                for n in range(USERS - 1)
            ]
    finally:
        await engine.dispose()
    user = tenant["paralegal"]
    started = time.perf_counter()
    await fill(settings, tenant.organization_id, [user.id, *others], count)
    print(f"{count:,} events written in {time.perf_counter() - started:.1f}s")
    _print("raw scan", await raw_scans(settings, tenant.organization_id, user.id, requests))
    print(f"rollup job: {count:,} events in {await roll_up(settings, tenant.organization_id):.1f}s")
    _print(
        "endpoint (rollups)",
        await endpoints(settings, tenant.admin.headers, user.headers, requests),
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=30)
    args = parser.parse_args()
    configure_logging("WARNING", json=False)
    print(f"machine: {os.cpu_count()} cores")
    asyncio.run(measure(args.events, args.requests))


if __name__ == "__main__":
    main()
