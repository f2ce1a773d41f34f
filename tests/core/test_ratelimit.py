"""Rate limiting: headers on every response, 429 with Retry-After, per route class and caller."""

from __future__ import annotations

import time
import uuid

import httpx
import pytest

from lexbase.app import create_app
from lexbase.core.metrics import work
from tests.api.test_envelope import assert_envelope
from tests.conftest import SettingsFactory, running
from tests.factories import Tenant


async def _exhaust(c: httpx.AsyncClient, path: str, limit: int, **kwargs: object) -> None:
    for expected_remaining in range(limit - 1, -1, -1):
        response = await c.get(path, **kwargs)  # type: ignore[arg-type]
        assert response.status_code == 200
        assert response.headers["X-RateLimit-Limit"] == str(limit)
        assert response.headers["X-RateLimit-Remaining"] == str(expected_remaining)


def _refused(limit: str) -> float:
    counted = work().registry.get_sample_value(
        "lexbase_rate_limit_rejections_total", {"limit": limit}
    )
    return counted or 0.0


async def _check_limit_enforced(c: httpx.AsyncClient, tenant: Tenant) -> None:
    refused = _refused("default")
    await _exhaust(c, "/health/live", 3)
    blocked = await c.get("/health/live")
    error = assert_envelope(blocked, 429, "rate_limited")
    assert "default" in error["message"]
    retry_after = int(blocked.headers["Retry-After"])
    assert 1 <= retry_after <= 60
    assert blocked.headers["X-RateLimit-Remaining"] == "0"
    assert int(blocked.headers["X-RateLimit-Reset"]) >= int(time.time())
    # A made-up credential is the same caller as no credential: the address.
    made_up = await c.get("/health/live", headers={"Authorization": "Bearer another-caller"})
    assert_envelope(made_up, 429, "rate_limited")
    assert _refused("default") - refused == 2  # both refusals counted for /metrics
    # A verified user is a caller of its own, with its own budget.
    other = await c.get("/health/live", headers=tenant["viewer"].headers)
    assert other.status_code == 200
    assert other.headers["X-RateLimit-Remaining"] == "2"


async def test_memory_limit_enforced(make_settings: SettingsFactory, tenant: Tenant) -> None:
    async with running(create_app(make_settings(rate_limit_default="3/minute"))) as c:
        await _check_limit_enforced(c, tenant)


@pytest.mark.redis
async def test_redis_limit_enforced_and_shared_between_apps(
    make_settings: SettingsFactory, redis_url: str, tenant: Tenant
) -> None:
    settings = make_settings(rate_limit_default="3/minute", redis_url=redis_url)
    async with running(create_app(settings)) as c:
        await _check_limit_enforced(c, tenant)
    # A second replica sees the same counters: the limit is cluster-wide.
    async with running(create_app(settings)) as replica:
        assert_envelope(await replica.get("/health/live"), 429, "rate_limited")
        ready = (await replica.get("/health/ready", headers=tenant["viewer"].headers)).json()
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


async def test_rotating_made_up_credentials_buys_no_budget(
    make_settings: SettingsFactory,
) -> None:
    settings = make_settings(rate_limit_auth="5/minute", rate_limit_auth_failures="1000/minute")
    async with running(create_app(settings)) as c:
        statuses = []
        for attempt in range(8):
            credential = (
                {"Authorization": f"Bearer made-up-{uuid.uuid4()}"}
                if attempt % 2
                else {"X-API-Key": f"lxb_{uuid.uuid4().hex}"}
            )
            response = await c.get("/api/v1/auth/me", headers=credential)
            statuses.append(response.status_code)
        assert statuses == [401] * 5 + [429] * 3
        assert_envelope(response, 429, "rate_limited")


async def test_failed_authentication_is_limited_per_address(
    make_settings: SettingsFactory, tenant: Tenant
) -> None:
    settings = make_settings(rate_limit_auth_failures="3/minute")
    async with running(create_app(settings)) as c:
        for _ in range(3):
            bad = await c.get("/api/v1/documents", headers={"X-API-Key": f"lxb_{uuid.uuid4()}"})
            assert_envelope(bad, 401, "unauthorized")
        blocked = await c.get("/api/v1/documents", headers={"Authorization": "Bearer forged"})
        error = assert_envelope(blocked, 429, "rate_limited")
        assert "failed authentication" in error["message"]
        assert int(blocked.headers["Retry-After"]) >= 1
        anonymous = await c.get("/health/live")
        assert_envelope(anonymous, 429, "rate_limited")
        # A verified caller from the same address is not locked out by someone else's guesses.
        mine = await c.get("/api/v1/documents", headers=tenant["viewer"].headers)
        assert mine.status_code == 200


async def test_api_key_and_token_of_one_user_share_a_budget(
    make_settings: SettingsFactory, tenant: Tenant
) -> None:
    settings = make_settings(rate_limit_default="4/minute")
    async with running(create_app(settings)) as c:
        created = await c.post(
            "/api/v1/api-keys", json={"name": "ci"}, headers=tenant["attorney"].headers
        )
        assert created.status_code == 201, created.text
        key = {"X-API-Key": created.json()["key"]}
        remaining = []
        for headers in (tenant["attorney"].headers, key, tenant["attorney"].headers):
            response = await c.get("/api/v1/documents", headers=headers)
            assert response.status_code == 200, response.text
            remaining.append(response.headers["X-RateLimit-Remaining"])
        # The POST above was the first request of the budget.
        assert remaining == ["2", "1", "0"]
        other = await c.get("/api/v1/documents", headers=tenant["paralegal"].headers)
        assert other.headers["X-RateLimit-Remaining"] == "3"


async def test_registrations_are_limited_per_address(make_settings: SettingsFactory) -> None:
    async with running(create_app(make_settings(rate_limit_register="2/hour"))) as c:
        statuses = []
        for index in range(3):
            response = await c.post(
                "/api/v1/auth/register",
                json={
                    "email": f"founder{index}@firm.test",
                    "password": "Correct-Horse-Battery-9",
                    "full_name": "F",
                    "organization_name": f"Firm {index}",
                },
            )
            statuses.append(response.status_code)
        assert statuses == [201, 201, 429]


async def test_forwarded_for_counts_the_hop_the_proxy_saw(make_settings: SettingsFactory) -> None:
    # The test client connects from 127.0.0.1, the trusted proxy here.
    settings = make_settings(rate_limit_default="2/minute", trusted_proxies="127.0.0.1")
    async with running(create_app(settings)) as c:
        for spoofed in ("10.0.0.1", "10.0.0.2"):
            forwarded = {"X-Forwarded-For": f"{spoofed}, 203.0.113.7"}
            assert (await c.get("/health/live", headers=forwarded)).status_code == 200
        # Addresses a client writes to the left of the proxy's own entry buy nothing.
        third = await c.get("/health/live", headers={"X-Forwarded-For": "10.0.0.3, 203.0.113.7"})
        assert_envelope(third, 429, "rate_limited")
        other = await c.get("/health/live", headers={"X-Forwarded-For": "203.0.113.8"})
        assert other.status_code == 200


async def test_trusted_proxies_may_be_networks(make_settings: SettingsFactory) -> None:
    """An ingress tier whose pods change addresses is trusted by its network: the client is
    the right-most hop outside it, whichever proxy pod relayed the request."""
    settings = make_settings(
        rate_limit_default="2/minute", trusted_proxies="127.0.0.0/8, 10.1.0.0/16"
    )
    async with running(create_app(settings)) as c:
        for pod in ("10.1.2.3", "10.1.200.7"):
            relayed = {"X-Forwarded-For": f"198.51.100.9, {pod}"}
            assert (await c.get("/health/live", headers=relayed)).status_code == 200
        third = await c.get("/health/live", headers={"X-Forwarded-For": "198.51.100.9, 10.1.0.1"})
        assert_envelope(third, 429, "rate_limited")
        # A hop outside the trusted networks is the client, even if a proxy pod follows it.
        other = await c.get("/health/live", headers={"X-Forwarded-For": "10.2.0.1, 10.1.0.1"})
        assert other.status_code == 200


def test_a_trusted_proxy_must_be_an_address_or_network(make_settings: SettingsFactory) -> None:
    with pytest.raises(ValueError, match="not an IP address or network"):
        make_settings(trusted_proxies="10.0.0.0/8, ingress-controller")
