"""Health, readiness and metrics endpoints (API.md: Health and metrics)."""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from lexbase import __version__
from lexbase.app import create_app
from lexbase.core.db import create_engine, create_sessionmaker, transaction
from lexbase.users.models import User
from tests.conftest import SettingsFactory, running
from tests.factories import Tenant


async def test_health_reports_ok_and_version(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "version": __version__}


async def test_live(client: httpx.AsyncClient) -> None:
    response = await client.get("/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "alive"}


async def wait_ready(c: httpx.AsyncClient, limit: float = 30.0) -> dict[str, Any]:
    """Poll readiness as a load balancer does, until the start-up warm-up is over."""
    deadline = time.monotonic() + limit
    while True:
        response = await c.get("/health/ready")
        body: dict[str, Any] = response.json()
        if body["status"] != "warming" or time.monotonic() > deadline:
            assert response.status_code == (200 if body["status"] == "ready" else 503)
            return body
        assert response.status_code == 503
        await asyncio.sleep(0.1)


@pytest.mark.in_process  # the embedded checks: no Redis
async def test_ready_checks_database_and_storage(client: httpx.AsyncClient) -> None:
    body = await wait_ready(client)
    assert body["status"] == "ready"
    assert body["models"] == {"embedder": "ready"}
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["storage"]["status"] == "ok"
    assert "redis" not in body["checks"]


async def test_ready_is_503_when_database_is_down(
    make_settings: SettingsFactory, backend: str, tmp_path: Path
) -> None:
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path}/missing-dir/nested/lexbase.db"
    else:
        from tests.support.services import find_free_port

        url = f"postgresql+asyncpg://lexbase@127.0.0.1:{find_free_port()}/nothing"
    app = create_app(make_settings(database_url=url, ready_timeout_seconds=2))
    async with running(app) as c:
        response = await c.get("/health/ready")
        assert response.status_code == 503
        body = response.json()
        assert body["status"] == "not_ready"
        assert body["checks"]["database"]["status"] == "down"
        assert body["checks"]["storage"]["status"] == "ok"
        health = await c.get("/health")
        assert health.status_code == 200 and health.json()["status"] == "degraded"


async def test_ready_is_503_when_storage_is_unwritable(
    make_settings: SettingsFactory, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir(exist_ok=True)
    (data_dir / "blobs").write_text("a file where the blob directory should be")
    app = create_app(make_settings(data_dir=data_dir))
    async with running(app) as c:
        response = await c.get("/health/ready")
        assert response.status_code == 503
        assert response.json()["checks"]["storage"]["status"] == "down"
        assert response.json()["checks"]["database"]["status"] == "ok"


@pytest.mark.in_process  # reads one process's counters
async def test_metrics_count_requests_by_route_template(client: httpx.AsyncClient) -> None:
    for _ in range(3):
        await client.get("/health/live")
    await client.get("/api/v1/missing/123")
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    counter = re.search(
        r'^lexbase_http_requests_total\{method="GET",route="/health/live",status="200"\} (\S+)$',
        text,
        re.MULTILINE,
    )
    assert counter is not None and float(counter.group(1)) == 3.0
    assert 'route="<unmatched>",status="404"' in text
    assert "/missing/123" not in text
    assert re.search(
        r'^lexbase_http_request_duration_seconds_bucket\{le="0.005",method="GET",'
        r'route="/health/live",status="200"\}',
        text,
        re.MULTILINE,
    )
    # The scrape itself is in flight while it renders.
    assert re.search(r"^lexbase_http_requests_in_flight 1\.0$", text, re.MULTILINE)


async def test_each_app_has_its_own_metrics(make_settings: SettingsFactory) -> None:
    first, second = create_app(make_settings()), create_app(make_settings())
    async with running(first) as a, running(second) as b:
        await a.get("/health/live")
        text = (await b.get("/metrics")).text
        assert 'route="/health/live"' not in text


async def test_detailed_health_is_admin_only(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.get("/api/v1/health/detailed", headers=tenant.admin.headers)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["version"] == __version__
    assert body["database"] in {"sqlite", "postgresql"}
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["storage"]["latency_ms"] >= 0
    denied = await client.get("/api/v1/health/detailed", headers=tenant["attorney"].headers)
    assert denied.status_code == 403
    assert (await client.get("/api/v1/health/detailed")).status_code == 401


async def test_server_details_are_for_operators_only(
    make_settings: SettingsFactory, tenant: Tenant, other_tenant: Tenant
) -> None:
    """A firm's admin sees its own queue and no server paths, disk or other firms' work."""
    settings = make_settings(embedded_workers=0)
    async with running(create_app(settings)) as c:
        for firm, count in ((other_tenant, 3), (tenant, 1)):
            for n in range(count):
                uploaded = await c.post(
                    "/api/v1/documents",
                    headers=firm.admin.headers,
                    files={"file": (f"m{n}.txt", f"Memo {firm.name} {n}.".encode())},
                )
                assert uploaded.status_code == 202, uploaded.text
        firm = (await c.get("/api/v1/health/detailed", headers=tenant.admin.headers)).json()
        assert firm["view"] == "organization"
        assert firm["disk"] is None
        waited = firm["queue"].pop("oldest_age_seconds")
        assert firm["queue"] == {
            "backend": "embedded",
            "depth": 1,
            "workers": 0,
            "server_depth": None,
        }
        # Its own job has waited since it was uploaded, a moment ago (nothing runs jobs here).
        assert 0 < waited < 60
        assert str(settings.data_dir) not in str(firm)
        engine = create_engine(settings)
        try:
            async with transaction(create_sessionmaker(engine, write=True)) as session:
                await session.execute(
                    update(User).where(User.id == tenant.admin.id).values(is_operator=True)
                )
        finally:
            await engine.dispose()
        server = (await c.get("/api/v1/health/detailed", headers=tenant.admin.headers)).json()
        assert server["view"] == "server"
        assert 0 < server["disk"]["free_bytes"] <= server["disk"]["total_bytes"]
        assert server["queue"]["depth"] == 1
        assert server["queue"]["server_depth"] == 4
