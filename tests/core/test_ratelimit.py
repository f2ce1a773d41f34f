"""Rate limiting: headers on every response, 429 with Retry-After, per route class and caller."""

from __future__ import annotations

import time

import httpx
import pytest

from lexbase.app import create_app
from tests.api.test_envelope import assert_envelope
from tests.conftest import SettingsFactory, running


async def _exhaust(c: httpx.AsyncClient, path: str, limit: int, **kwargs: object) -> None:
    for expected_remaining in range(limit - 1, -1, -1):
        response = await c.get(path, **kwargs)  # type: ignore[arg-type]
        assert response.status_code == 200
        assert response.headers["X-RateLimit-Limit"] == str(limit)
        assert response.headers["X-RateLimit-Remaining"] == str(expected_remaining)


async def _check_limit_enforced(c: httpx.AsyncClient) -> None:
    await _exhaust(c, "/health/live", 3)
    blocked = await c.get("/health/live")
    error = assert_envelope(blocked, 429, "rate_limited")
    assert "default" in error["message"]
    retry_after = int(blocked.headers["Retry-After"])
    assert 1 <= retry_after <= 60
    assert blocked.headers["X-RateLimit-Remaining"] == "0"
    assert int(blocked.headers["X-RateLimit-Reset"]) >= int(time.time())
    # A different credential is a different caller with its own budget.
    other = await c.get("/health/live", headers={"Authorization": "Bearer another-caller"})
    assert other.status_code == 200
    assert other.headers["X-RateLimit-Remaining"] == "2"


async def test_memory_limit_enforced(make_settings: SettingsFactory) -> None:
    async with running(create_app(make_settings(rate_limit_default="3/minute"))) as c:
        await _check_limit_enforced(c)


@pytest.mark.redis
async def test_redis_limit_enforced_and_shared_between_apps(
    make_settings: SettingsFactory, redis_url: str
) -> None:
    settings = make_settings(rate_limit_default="3/minute", redis_url=redis_url)
    async with running(create_app(settings)) as c:
        await _check_limit_enforced(c)
    # A second replica sees the same counters: the limit is cluster-wide.
    async with running(create_app(settings)) as replica:
        assert_envelope(await replica.get("/health/live"), 429, "rate_limited")
        ready = (await replica.get("/health/ready", headers={"Authorization": "Bearer x"})).json()
        assert ready["checks"]["redis"]["status"] == "ok"


async def test_route_classes_have_separate_budgets(make_settings: SettingsFactory) -> None:
    settings = make_settings(rate_limit_default="2/minute", rate_limit_auth="5/minute")
    async with running(create_app(settings)) as c:
        await _exhaust(c, "/health/live", 2)
        assert (await c.get("/health/live")).status_code == 429
        auth = await c.get("/api/v1/auth/anything")
        assert auth.headers["X-RateLimit-Limit"] == "5"
        assert_envelope(auth, 404, "not_found")


async def test_disabled_rate_limits_send_no_headers(make_settings: SettingsFactory) -> None:
    settings = make_settings(rate_limit_enabled=False, rate_limit_default="1/minute")
    async with running(create_app(settings)) as c:
        for _ in range(3):
            response = await c.get("/health/live")
            assert response.status_code == 200
            assert "X-RateLimit-Limit" not in response.headers


async def test_unreachable_redis_fails_open(make_settings: SettingsFactory) -> None:
    from tests.support.services import find_free_port

    url = f"redis://127.0.0.1:{find_free_port()}/0"
    async with running(create_app(make_settings(redis_url=url, ready_timeout_seconds=1))) as c:
        response = await c.get("/health/live")
        assert response.status_code == 200
        assert "X-RateLimit-Limit" not in response.headers
        ready = await c.get("/health/ready")
        assert ready.status_code == 503
        assert ready.json()["checks"]["redis"]["status"] == "down"
