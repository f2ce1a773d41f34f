"""Every way of forging or replaying a credential answers 401 `unauthorized`."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import httpx
import jwt
import pytest

from lexbase.core.security import issue_access_token
from tests.api.test_envelope import assert_envelope
from tests.conftest import TEST_SECRET, SettingsFactory
from tests.factories import Tenant


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def _claims(token: str) -> dict[str, Any]:
    return dict(jwt.decode(token, options={"verify_signature": False}))


async def _rejected(client: httpx.AsyncClient, token: str) -> None:
    response = await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert_envelope(response, 401, "unauthorized")


async def test_genuine_token_accepted(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.get("/api/v1/auth/me", headers=tenant.admin.headers)
    assert response.json()["id"] == tenant.admin.id


async def test_alg_none(client: httpx.AsyncClient, tenant: Tenant) -> None:
    claims = _claims(tenant.admin.access_token)
    await _rejected(client, f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}.")


async def test_tampered_payload(client: httpx.AsyncClient, tenant: Tenant) -> None:
    header, _, signature = tenant["viewer"].access_token.split(".")
    claims = _claims(tenant["viewer"].access_token)
    claims["sub"] = tenant.admin.id  # privilege escalation attempt, signature kept
    await _rejected(client, f"{header}.{_b64(claims)}.{signature}")


async def test_wrong_signature(client: httpx.AsyncClient, tenant: Tenant) -> None:
    forged = jwt.encode(
        _claims(tenant.admin.access_token), "another-secret-" * 4, algorithm="HS256"
    )
    await _rejected(client, forged)


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
@pytest.mark.parametrize("algorithm", ["HS384", "HS512"])
async def test_other_algorithm_with_right_key(
    client: httpx.AsyncClient, tenant: Tenant, algorithm: str
) -> None:
    forged = jwt.encode(_claims(tenant.admin.access_token), TEST_SECRET, algorithm=algorithm)
    await _rejected(client, forged)


async def test_expired(client: httpx.AsyncClient, tenant: Tenant) -> None:
    claims = _claims(tenant.admin.access_token)
    claims["iat"], claims["exp"] = int(time.time()) - 3600, int(time.time()) - 60
    await _rejected(client, jwt.encode(claims, TEST_SECRET, algorithm="HS256"))


@pytest.mark.parametrize(
    ("claim", "value"),
    [("aud", "someone-else"), ("iss", "evil"), ("typ", "refresh"), ("sid", "no-such-session")],
)
async def test_wrong_claims(
    client: httpx.AsyncClient, tenant: Tenant, claim: str, value: str
) -> None:
    claims = _claims(tenant.admin.access_token)
    claims[claim] = value
    await _rejected(client, jwt.encode(claims, TEST_SECRET, algorithm="HS256"))


@pytest.mark.parametrize("claim", ["exp", "sid", "org", "jti", "sub"])
async def test_missing_claims(client: httpx.AsyncClient, tenant: Tenant, claim: str) -> None:
    claims = _claims(tenant.admin.access_token)
    del claims[claim]
    await _rejected(client, jwt.encode(claims, TEST_SECRET, algorithm="HS256"))


async def test_token_moved_to_another_organization(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    claims = _claims(tenant.admin.access_token)
    claims["org"] = other_tenant.organization_id
    await _rejected(client, jwt.encode(claims, TEST_SECRET, algorithm="HS256"))


async def test_refresh_token_used_as_access(client: httpx.AsyncClient, tenant: Tenant) -> None:
    login = await client.post(
        "/api/v1/auth/login", json={"email": tenant.admin.email, "password": tenant.admin.password}
    )
    await _rejected(client, login.json()["refresh_token"])


async def test_access_token_used_as_refresh(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": tenant.admin.access_token}
    )
    assert_envelope(response, 401, "unauthorized")


async def test_logged_out_session(client: httpx.AsyncClient, tenant: Tenant) -> None:
    assert (
        await client.post("/api/v1/auth/logout", headers=tenant.admin.headers)
    ).status_code == 204
    await _rejected(client, tenant.admin.access_token)


async def test_deactivated_user(
    client: httpx.AsyncClient, tenant: Tenant, make_settings: SettingsFactory
) -> None:
    response = await client.delete(
        f"/api/v1/users/{tenant['paralegal'].id}", headers=tenant.admin.headers
    )
    assert response.status_code == 204
    await _rejected(client, tenant["paralegal"].access_token)
    # A fresh token for the same (still existing) session family is refused as well.
    claims = _claims(tenant["paralegal"].access_token)
    token, _ = issue_access_token(
        make_settings(),
        user_id=claims["sub"],
        organization_id=claims["org"],
        session_id=claims["sid"],
    )
    await _rejected(client, token)


@pytest.mark.parametrize(
    "header",
    [
        "Bearer",
        # A trailing space is not a legal header value on the wire (httpx refuses to send it).
        pytest.param("Bearer ", marks=pytest.mark.in_process),
        "Basic dXNlcjpwYXNz",
        "Token abc",
        "Bearer a.b",
        "Bearer lxb_unknown",
    ],
)
async def test_malformed_authorization(client: httpx.AsyncClient, header: str) -> None:
    response = await client.get("/api/v1/auth/me", headers={"Authorization": header})
    assert_envelope(response, 401, "unauthorized")
