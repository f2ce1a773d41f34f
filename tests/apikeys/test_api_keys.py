"""API keys: shown once, stored hashed, usable as X-API-Key or Bearer, scoped, revocable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select

from lexbase.apikeys.models import ApiKey
from lexbase.core.db import create_engine
from lexbase.core.security import digest
from tests.api.test_envelope import assert_envelope
from tests.conftest import SettingsFactory
from tests.factories import Tenant


async def _create(c: httpx.AsyncClient, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    body.setdefault("name", "integration")
    response = await c.post("/api/v1/api-keys", headers=headers, json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_key_shown_once_and_stored_hashed(
    client: httpx.AsyncClient, tenant: Tenant, make_settings: SettingsFactory
) -> None:
    created = await _create(client, tenant["attorney"].headers)
    secret = created["key"]
    assert secret.startswith("lxb_") and len(secret) > 40
    assert created["prefix"] == secret[:12]
    shown = (
        await client.get(f"/api/v1/api-keys/{created['id']}", headers=tenant["attorney"].headers)
    ).json()
    assert "key" not in shown
    listing = (await client.get("/api/v1/api-keys", headers=tenant["attorney"].headers)).json()
    assert [k["id"] for k in listing["items"]] == [created["id"]]
    assert secret not in str(listing)
    engine = create_engine(make_settings())
    try:
        async with engine.connect() as conn:
            row = (
                await conn.execute(select(ApiKey.key_hash).where(ApiKey.id == created["id"]))
            ).one()
    finally:
        await engine.dispose()
    assert row.key_hash == digest(secret)
    assert secret not in row.key_hash


async def test_key_works_as_header_and_bearer(client: httpx.AsyncClient, tenant: Tenant) -> None:
    secret = (await _create(client, tenant["paralegal"].headers))["key"]
    for headers in ({"X-API-Key": secret}, {"Authorization": f"Bearer {secret}"}):
        me = (await client.get("/api/v1/auth/me", headers=headers)).json()
        assert me["id"] == tenant["paralegal"].id


async def test_scopes_never_exceed_role_and_narrow_it(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    read_only = (await _create(client, tenant.admin.headers, scopes=["read"]))["key"]
    listed = await client.get("/api/v1/users", headers={"X-API-Key": read_only})
    assert listed.json()["total"] == 4
    denied = await client.post(
        "/api/v1/users", headers={"X-API-Key": read_only}, json={"email": "a@firm.test"}
    )
    assert_envelope(denied, 403, "forbidden")
    viewer_admin_scope = (await _create(client, tenant["viewer"].headers, scopes=["admin"]))["key"]
    escalate = await client.post(
        "/api/v1/users", headers={"X-API-Key": viewer_admin_scope}, json={"email": "b@firm.test"}
    )
    assert_envelope(escalate, 403, "forbidden")
    bad_scope = await client.post(
        "/api/v1/api-keys", headers=tenant.admin.headers, json={"name": "x", "scopes": ["root"]}
    )
    assert_envelope(bad_scope, 422, "validation_error")


async def test_revoked_and_expired_keys_refused(client: httpx.AsyncClient, tenant: Tenant) -> None:
    created = await _create(client, tenant.admin.headers)
    revoke = await client.delete(f"/api/v1/api-keys/{created['id']}", headers=tenant.admin.headers)
    assert revoke.status_code == 204
    assert_envelope(
        await client.get("/api/v1/auth/me", headers={"X-API-Key": created["key"]}),
        401,
        "unauthorized",
    )
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    rejected = await client.post(
        "/api/v1/api-keys", headers=tenant.admin.headers, json={"name": "old", "expires_at": past}
    )
    assert_envelope(rejected, 422, "validation_error")
    soon = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    expiring = await _create(client, tenant.admin.headers, expires_at=soon)
    assert expiring["expires_at"] is not None
    naive = await client.post(
        "/api/v1/api-keys",
        headers=tenant.admin.headers,
        json={"name": "n", "expires_at": "2030-01-01T00:00:00"},
    )
    assert_envelope(naive, 422, "validation_error")


async def test_keys_are_private_to_their_owner(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    created = await _create(client, tenant["attorney"].headers)
    for headers in (tenant.admin.headers, other_tenant.admin.headers):
        assert_envelope(
            await client.get(f"/api/v1/api-keys/{created['id']}", headers=headers), 404, "not_found"
        )
        assert_envelope(
            await client.delete(f"/api/v1/api-keys/{created['id']}", headers=headers),
            404,
            "not_found",
        )


async def test_key_cannot_mint_keys(client: httpx.AsyncClient, tenant: Tenant) -> None:
    secret = (await _create(client, tenant.admin.headers))["key"]
    response = await client.post(
        "/api/v1/api-keys", headers={"X-API-Key": secret}, json={"name": "child"}
    )
    assert_envelope(response, 403, "forbidden")


async def test_deactivating_the_owner_disables_keys(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    secret = (await _create(client, tenant["paralegal"].headers))["key"]
    await client.delete(f"/api/v1/users/{tenant['paralegal'].id}", headers=tenant.admin.headers)
    assert_envelope(
        await client.get("/api/v1/auth/me", headers={"X-API-Key": secret}), 401, "unauthorized"
    )


async def test_expiry_beyond_representable_time_is_refused(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    for expires_at in ("9999-12-31T23:59-14:00", "0001-01-01T00:00+14:00"):
        response = await client.post(
            "/api/v1/api-keys",
            json={"name": "far", "expires_at": expires_at},
            headers=tenant["paralegal"].headers,
        )
        error = assert_envelope(response, 422, "validation_error")
        assert error["details"][0]["loc"][-1] == "expires_at" or "expires_at" in str(error)
