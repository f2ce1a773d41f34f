"""Account lockout after repeated failures, identical for unknown emails; per-address limits."""

from __future__ import annotations

import httpx

from lexbase.app import create_app
from tests.api.test_envelope import assert_envelope
from tests.auth.helpers import PASSWORD, login, register
from tests.conftest import SettingsFactory, running


async def _fail(c: httpx.AsyncClient, email: str) -> httpx.Response:
    return await c.post("/api/v1/auth/login", json={"email": email, "password": "wrong-password-1"})


async def test_lockout_then_unlock(make_settings: SettingsFactory) -> None:
    settings = make_settings(
        login_max_failures=3, login_lockout_minutes=1, rate_limit_enabled=False
    )
    async with running(create_app(settings)) as c:
        user = await register(c)
        for _ in range(3):
            assert_envelope(await _fail(c, user["email"]), 401, "unauthorized")
        locked = await c.post(
            "/api/v1/auth/login", json={"email": user["email"], "password": PASSWORD}
        )
        error = assert_envelope(locked, 423, "account_locked")
        assert 1 <= int(locked.headers["Retry-After"]) <= 60
        assert "try again later" in error["message"]
        # Another account is not affected.
        other = await register(c)
        await login(c, other["email"])


async def test_unknown_email_locks_identically(make_settings: SettingsFactory) -> None:
    settings = make_settings(login_max_failures=2, rate_limit_enabled=False)
    async with running(create_app(settings)) as c:
        user = await register(c)
        known = [await _fail(c, user["email"]) for _ in range(3)]
        unknown = [await _fail(c, "nobody-here@firm.test") for _ in range(3)]
        assert [r.status_code for r in known] == [r.status_code for r in unknown] == [401, 401, 423]
        assert known[-1].json()["error"]["message"] == unknown[-1].json()["error"]["message"]
        assert known[-1].headers["Retry-After"] == unknown[-1].headers["Retry-After"]


async def test_success_resets_the_failure_count(make_settings: SettingsFactory) -> None:
    settings = make_settings(login_max_failures=3, rate_limit_enabled=False)
    async with running(create_app(settings)) as c:
        user = await register(c)
        for _ in range(2):
            await _fail(c, user["email"])
        await login(c, user["email"])
        for _ in range(2):
            assert (await _fail(c, user["email"])).status_code == 401
        await login(c, user["email"])


async def test_failures_limited_per_address(make_settings: SettingsFactory) -> None:
    settings = make_settings(login_failures_per_ip="4 per minute", login_max_failures=50)
    async with running(create_app(settings)) as c:
        for i in range(4):
            assert (await _fail(c, f"spray{i}@firm.test")).status_code == 401
        blocked = await _fail(c, "spray-next@firm.test")
        assert_envelope(blocked, 429, "rate_limited")
        assert int(blocked.headers["Retry-After"]) >= 1


async def test_lockout_applies_even_with_rate_limits_disabled(
    make_settings: SettingsFactory,
) -> None:
    settings = make_settings(rate_limit_enabled=False, login_max_failures=2)
    async with running(create_app(settings)) as c:
        user = await register(c)
        await _fail(c, user["email"])
        await _fail(c, user["email"])
        assert (await _fail(c, user["email"])).status_code == 423
