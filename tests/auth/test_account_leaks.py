"""Accounts against a hostile insider: narrow API keys cannot take over their owner, and no
answer tells one firm whether an address has an account in another."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from lexbase.core.permissions import Role
from tests.api.test_envelope import assert_envelope
from tests.auth.helpers import PASSWORD, bearer, login, register
from tests.factories import Tenant

API = "/api/v1"


async def make_key(c: httpx.AsyncClient, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    response = await c.post(f"{API}/api-keys", json={"name": "k", **body}, headers=headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


@pytest.mark.parametrize("scope", ["read", "write"])
async def test_narrow_keys_cannot_change_the_account(
    client: httpx.AsyncClient, tenant: Tenant, scope: str
) -> None:
    owner = tenant["attorney"]
    other = await make_key(client, owner.headers)
    narrow = await make_key(client, owner.headers, scopes=[scope])
    key = {"X-API-Key": narrow["key"]}
    attempts = [
        client.patch(f"{API}/auth/me", json={"full_name": "Mallory"}, headers=key),
        client.post(
            f"{API}/auth/password",
            json={"current_password": owner.password, "new_password": "Hijacked-Pass-77"},
            headers=key,
        ),
        client.delete(f"{API}/api-keys/{other['id']}", headers=key),
        client.post(f"{API}/api-keys", json={"name": "more"}, headers=key),
    ]
    for attempt in attempts:
        assert_envelope(await attempt, 403, "forbidden")
    # Nothing changed: the name, the password, the other key.
    me = (await client.get(f"{API}/auth/me", headers=key)).json()
    assert me["full_name"] != "Mallory"
    await login(client, owner.email, owner.password)
    listed = (await client.get(f"{API}/api-keys", headers=owner.headers)).json()
    assert {k["id"] for k in listed["items"] if k["revoked_at"] is None} == {
        other["id"],
        narrow["id"],
    }


async def test_admin_scoped_key_may_manage_the_account(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    owner = tenant["paralegal"]
    admin_key = await make_key(client, owner.headers, scopes=["admin"])
    renamed = await client.patch(
        f"{API}/auth/me", json={"full_name": "Renamed"}, headers={"X-API-Key": admin_key["key"]}
    )
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["full_name"] == "Renamed"


async def test_password_change_revokes_the_owners_api_keys(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    owner = tenant["viewer"]
    key = await make_key(client, owner.headers)
    assert (
        await client.get(f"{API}/auth/me", headers={"X-API-Key": key["key"]})
    ).status_code == 200
    changed = await client.post(
        f"{API}/auth/password",
        json={"current_password": owner.password, "new_password": "Brand-New-Pass-41"},
        headers=owner.headers,
    )
    assert changed.status_code == 204
    stale = await client.get(f"{API}/auth/me", headers={"X-API-Key": key["key"]})
    assert_envelope(stale, 401, "unauthorized")
    tokens = await login(client, owner.email, "Brand-New-Pass-41")
    keys = (await client.get(f"{API}/api-keys", headers=bearer(tokens["access_token"]))).json()
    assert [k["revoked_at"] is not None for k in keys["items"]] == [True]


async def test_admin_password_reset_revokes_keys_too(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    target = tenant["paralegal"]
    key = await make_key(client, target.headers)
    reset = await client.patch(
        f"{API}/users/{target.id}",
        json={"password": "Reset-By-Admin-93"},
        headers=tenant.admin.headers,
    )
    assert reset.status_code == 200, reset.text
    stale = await client.get(f"{API}/auth/me", headers={"X-API-Key": key["key"]})
    assert_envelope(stale, 401, "unauthorized")


async def test_another_firm_learns_nothing_about_an_address(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    known = tenant["attorney"].email

    async def create(email: str) -> httpx.Response:
        return await client.post(
            f"{API}/users",
            json={
                "email": email,
                "password": "Beta-Firm-Pass-55",
                "full_name": "B",
                "role": "viewer",
            },
            headers=other_tenant.admin.headers,
        )

    existing_elsewhere, never_seen = await create(known), await create("nobody@firm.test")
    assert existing_elsewhere.status_code == never_seen.status_code == 201
    assert existing_elsewhere.json().keys() == never_seen.json().keys()
    assert existing_elsewhere.json()["organization_id"] == other_tenant.organization_id
    # Within one firm an address is still unique.
    assert_envelope(await create(known), 409, "conflict")
    # Each account signs in to its own firm with its own password.
    alpha = await login(client, known, tenant["attorney"].password)
    beta = await login(client, known, "Beta-Firm-Pass-55")
    assert alpha["user"]["organization_id"] == tenant.organization_id
    assert beta["user"]["organization_id"] == other_tenant.organization_id
    # Open registration answers an existing address exactly like a new one.
    registered = await register(client, known)
    fresh = await register(client)
    assert registered.keys() == fresh.keys()
    assert registered["organization_id"] not in (
        tenant.organization_id,
        other_tenant.organization_id,
    )


async def test_one_password_for_two_firms_asks_which(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    email = tenant["viewer"].email  # the fixture's password, reused in the second firm
    created = await client.post(
        f"{API}/users",
        json={"email": email, "password": PASSWORD, "full_name": "Twin", "role": "viewer"},
        headers=other_tenant.admin.headers,
    )
    assert created.status_code == 201, created.text
    ambiguous = await client.post(f"{API}/auth/login", json={"email": email, "password": PASSWORD})
    error = assert_envelope(ambiguous, 409, "organization_required")
    assert {d["organization_id"] for d in error["details"]} == {
        tenant.organization_id,
        other_tenant.organization_id,
    }
    chosen = await client.post(
        f"{API}/auth/login",
        json={
            "email": email,
            "password": PASSWORD,
            "organization_id": other_tenant.organization_id,
        },
    )
    assert chosen.status_code == 200, chosen.text
    assert chosen.json()["user"]["id"] == created.json()["id"]
    wrong = await client.post(
        f"{API}/auth/login", json={"email": email, "password": "Not-The-Password-1"}
    )
    error = assert_envelope(wrong, 401, "unauthorized")
    assert "organization" not in error["message"]


async def test_viewer_role_keeps_its_own_account(client: httpx.AsyncClient, tenant: Tenant) -> None:
    viewer = tenant[Role.VIEWER]
    renamed = await client.patch(
        f"{API}/auth/me", json={"full_name": "Vera Viewer"}, headers=viewer.headers
    )
    assert renamed.status_code == 200
    assert renamed.json()["full_name"] == "Vera Viewer"
