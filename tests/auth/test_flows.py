"""Register, login (JSON and form), me, refresh rotation and reuse, logout, password change."""

from __future__ import annotations

from typing import Any

import httpx
import jwt
import pytest

from tests.api.test_envelope import assert_envelope
from tests.auth.helpers import PASSWORD, bearer, login, register


async def test_register_creates_organization_with_admin(client: httpx.AsyncClient) -> None:
    user = await register(client, "Founder@Firm.Test")
    assert user["email"] == "founder@firm.test"
    assert user["role"] == "admin"
    assert user["organization_id"]
    assert "password" not in str(user) and "hash" not in str(user)
    tokens = await login(client, "FOUNDER@firm.test")
    me = (await client.get("/api/v1/auth/me", headers=bearer(tokens["access_token"]))).json()
    assert me["id"] == user["id"]
    assert me["organization_id"] == user["organization_id"]
    assert me["role"] == "admin"


async def test_register_rejects_bad_input(client: httpx.AsyncClient) -> None:
    # An address already registered is not bad input: see tests/auth/test_account_leaks.py.
    bad_email = await client.post(
        "/api/v1/auth/register",
        json={
            "email": "not-an-email",
            "password": PASSWORD,
            "full_name": "X",
            "organization_name": "Y",
        },
    )
    assert_envelope(bad_email, 422, "validation_error")
    missing = await client.post("/api/v1/auth/register", json={"email": "a@firm.test"})
    error = assert_envelope(missing, 422, "validation_error")
    assert {"password", "full_name", "organization_name"} <= {
        d["loc"][-1] for d in error["details"]
    }


async def test_password_policy(client: httpx.AsyncClient) -> None:
    def body(email: str, password: str) -> dict[str, str]:
        return {"email": email, "password": password, "full_name": "X", "organization_name": "Y"}

    for email, password, why in [
        ("a@firm.test", "short", "at least 8"),
        ("jonathan@firm.test", "xx-Jonathan-2024", "email"),
        ("b@firm.test", "password123", "too common"),
        ("c@firm.test", "aaaaaaaaaaaa", "too simple"),
    ]:
        response = await client.post("/api/v1/auth/register", json=body(email, password))
        error = assert_envelope(response, 422, "validation_error")
        assert why in error["message"], (password, error["message"])


async def test_login_json_and_oauth2_form(client: httpx.AsyncClient) -> None:
    user = await register(client)
    tokens = await login(client, user["email"])
    assert tokens["token_type"] == "bearer"
    assert tokens["expires_in"] == 15 * 60
    assert tokens["user"]["id"] == user["id"]
    assert tokens["refresh_token"].startswith("lxr_")
    form = await client.post(
        "/api/v1/auth/login", data={"username": user["email"], "password": PASSWORD}
    )
    assert form.status_code == 200
    assert form.json()["user"]["email"] == user["email"]
    assert form.json()["access_token"] != tokens["access_token"]


async def test_access_token_claims(client: httpx.AsyncClient) -> None:
    user = await register(client)
    claims = jwt.decode(
        (await login(client, user["email"]))["access_token"], options={"verify_signature": False}
    )
    assert claims["sub"] == user["id"]
    assert claims["org"] == user["organization_id"]
    assert claims["typ"] == "access"
    assert claims["iss"] == "lexbase" and claims["aud"] == "lexbase-api"
    assert claims["exp"] - claims["iat"] == 15 * 60
    assert {"jti", "sid"} <= claims.keys()
    header = jwt.get_unverified_header((await login(client, user["email"]))["access_token"])
    assert header["alg"] == "HS256"


async def test_wrong_password_and_unknown_email_look_the_same(client: httpx.AsyncClient) -> None:
    user = await register(client)
    wrong = await client.post(
        "/api/v1/auth/login", json={"email": user["email"], "password": "nope-nope-1"}
    )
    unknown = await client.post(
        "/api/v1/auth/login", json={"email": "ghost@firm.test", "password": "nope-nope-1"}
    )
    assert_envelope(wrong, 401, "unauthorized")
    assert_envelope(unknown, 401, "unauthorized")
    assert wrong.json()["error"]["message"] == unknown.json()["error"]["message"]


async def test_login_bad_input(client: httpx.AsyncClient) -> None:
    assert_envelope(await client.post("/api/v1/auth/login", json={}), 422, "validation_error")
    malformed = await client.post(
        "/api/v1/auth/login", content=b"{nope", headers={"content-type": "application/json"}
    )
    assert_envelope(malformed, 422, "validation_error")
    xml = await client.post(
        "/api/v1/auth/login", content=b"<a/>", headers={"content-type": "application/xml"}
    )
    assert_envelope(xml, 415, "unsupported_media_type")


async def test_refresh_rotates_and_reuse_revokes_family(client: httpx.AsyncClient) -> None:
    user = await register(client)
    first = await login(client, user["email"])
    second = (
        await client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    ).json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    third = (
        await client.post("/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]})
    ).json()
    assert (
        await client.get("/api/v1/auth/me", headers=bearer(third["access_token"]))
    ).status_code == 200

    # A spent token comes back: the whole family ends, including the newest tokens.
    replay = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}
    )
    assert_envelope(replay, 401, "unauthorized")
    assert_envelope(
        await client.get("/api/v1/auth/me", headers=bearer(third["access_token"])),
        401,
        "unauthorized",
    )
    after = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": third["refresh_token"]}
    )
    assert_envelope(after, 401, "unauthorized")
    # Another session of the same user is untouched.
    other = await login(client, user["email"])
    assert (
        await client.get("/api/v1/auth/me", headers=bearer(other["access_token"]))
    ).status_code == 200


async def test_refresh_with_garbage_is_401(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": "lxr_not-a-real-token"}
    )
    assert_envelope(response, 401, "unauthorized")


async def test_logout_revokes_access_and_refresh_at_once(client: httpx.AsyncClient) -> None:
    user = await register(client)
    tokens = await login(client, user["email"])
    other = await login(client, user["email"])
    out = await client.post("/api/v1/auth/logout", headers=bearer(tokens["access_token"]))
    assert out.status_code == 204
    assert_envelope(
        await client.get("/api/v1/auth/me", headers=bearer(tokens["access_token"])),
        401,
        "unauthorized",
    )
    refreshed = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert_envelope(refreshed, 401, "unauthorized")
    assert (
        await client.get("/api/v1/auth/me", headers=bearer(other["access_token"]))
    ).status_code == 200


async def test_password_change_revokes_every_session(client: httpx.AsyncClient) -> None:
    user = await register(client)
    a, b = await login(client, user["email"]), await login(client, user["email"])
    wrong = await client.post(
        "/api/v1/auth/password",
        headers=bearer(a["access_token"]),
        json={"current_password": "not-it-at-all", "new_password": "Another-Good-Phrase-7"},
    )
    error = assert_envelope(wrong, 422, "validation_error")
    assert error["details"][0]["loc"] == ["body", "current_password"]
    changed = await client.post(
        "/api/v1/auth/password",
        headers=bearer(a["access_token"]),
        json={"current_password": PASSWORD, "new_password": "Another-Good-Phrase-7"},
    )
    assert changed.status_code == 204
    for tokens in (a, b):
        me = await client.get("/api/v1/auth/me", headers=bearer(tokens["access_token"]))
        assert_envelope(me, 401, "unauthorized")
    old = await client.post(
        "/api/v1/auth/login", json={"email": user["email"], "password": PASSWORD}
    )
    assert_envelope(old, 401, "unauthorized")
    await login(client, user["email"], "Another-Good-Phrase-7")


async def test_profile_update(client: httpx.AsyncClient) -> None:
    user = await register(client)
    tokens = await login(client, user["email"])
    response = await client.patch(
        "/api/v1/auth/me",
        headers=bearer(tokens["access_token"]),
        json={"full_name": "Pat Q. Partner"},
    )
    assert response.json()["full_name"] == "Pat Q. Partner"
    role_grab = await client.patch(
        "/api/v1/auth/me", headers=bearer(tokens["access_token"]), json={"role": "admin"}
    )
    assert_envelope(role_grab, 422, "validation_error")


@pytest.mark.in_process  # watches the app's threads
async def test_password_hashing_runs_off_the_event_loop(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Argon2 takes tens of milliseconds of CPU: on the event loop it would stall every other
    request for that long, so it runs in the hashing pool's threads."""
    import threading

    from lexbase.core import security

    threads: list[str] = []
    for name in ("hash_password", "verify_password"):
        original = getattr(security, name)

        def traced(*args: Any, _original: Any = original) -> Any:
            threads.append(threading.current_thread().name)
            return _original(*args)

        monkeypatch.setattr(security, name, traced)
    user = await register(client)
    await login(client, user["email"])
    assert len(threads) >= 2
    assert all(name.startswith("argon2") for name in threads), threads
