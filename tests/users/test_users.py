"""Admin user management and the firm directory."""

from __future__ import annotations

import asyncio

import httpx

from lexbase.core.permissions import Role
from tests.api.test_envelope import assert_envelope
from tests.conftest import SettingsFactory
from tests.factories import PASSWORD, Tenant, TestUser
from tests.matters.helpers import add_user


async def _create(c: httpx.AsyncClient, tenant: Tenant, **overrides: str) -> httpx.Response:
    body = {"email": "new.associate@firm.test", "full_name": "New Associate", "role": "attorney"}
    body.update(overrides)
    body.setdefault("password", "Fresh-Associate-Pass-1")
    return await c.post("/api/v1/users", headers=tenant.admin.headers, json=body)


async def test_admin_creates_user_who_can_sign_in(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    created = await _create(client, tenant)
    assert created.status_code == 201
    body = created.json()
    assert body["role"] == "attorney"
    assert body["organization_id"] == tenant.organization_id
    login = await client.post(
        "/api/v1/auth/login",
        json={"email": "new.associate@firm.test", "password": "Fresh-Associate-Pass-1"},
    )
    assert login.json()["user"]["id"] == body["id"]
    assert_envelope(await _create(client, tenant), 409, "conflict")


async def test_non_admins_cannot_manage_users(client: httpx.AsyncClient, tenant: Tenant) -> None:
    for role in ("attorney", "paralegal", "viewer"):
        response = await client.post(
            "/api/v1/users",
            headers=tenant[role].headers,
            json={"email": f"x-{role}@firm.test", "full_name": "X", "password": PASSWORD},
        )
        assert_envelope(response, 403, "forbidden")
        patch = await client.patch(
            f"/api/v1/users/{tenant['viewer'].id}",
            headers=tenant[role].headers,
            json={"role": "admin"},
        )
        assert_envelope(patch, 403, "forbidden")


async def test_directory_lists_only_own_organization(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    listing = (await client.get("/api/v1/users?limit=2", headers=tenant["viewer"].headers)).json()
    assert listing["total"] == 4
    assert len(listing["items"]) == 2
    assert listing["next_cursor"]
    rest = (
        await client.get(
            f"/api/v1/users?cursor={listing['next_cursor']}", headers=tenant["viewer"].headers
        )
    ).json()
    ids = {u["id"] for u in listing["items"] + rest["items"]}
    assert ids == {u.id for u in tenant.users.values()}
    assert rest["next_cursor"] is None
    admins = (await client.get("/api/v1/users?role=admin", headers=tenant.admin.headers)).json()
    assert [u["id"] for u in admins["items"]] == [tenant.admin.id]
    foreign = await client.get(
        f"/api/v1/users/{tenant.admin.id}", headers=other_tenant.admin.headers
    )
    assert_envelope(foreign, 404, "not_found")


async def test_role_change_takes_effect_immediately(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    viewer = tenant["viewer"]
    before = await client.post("/api/v1/users", headers=viewer.headers, json={})
    assert_envelope(before, 403, "forbidden")
    promoted = await client.patch(
        f"/api/v1/users/{viewer.id}", headers=tenant.admin.headers, json={"role": "admin"}
    )
    assert promoted.json()["role"] == "admin"
    me = (await client.get("/api/v1/auth/me", headers=viewer.headers)).json()
    assert me["role"] == "admin"
    after = await client.post("/api/v1/users", headers=viewer.headers, json={})
    assert_envelope(after, 422, "validation_error")


async def test_last_admin_is_protected(client: httpx.AsyncClient, tenant: Tenant) -> None:
    me = f"/api/v1/users/{tenant.admin.id}"
    assert_envelope(
        await client.patch(me, headers=tenant.admin.headers, json={"role": "viewer"}),
        409,
        "conflict",
    )
    assert_envelope(await client.delete(me, headers=tenant.admin.headers), 409, "conflict")
    await client.patch(
        f"/api/v1/users/{tenant['attorney'].id}",
        headers=tenant.admin.headers,
        json={"role": "admin"},
    )
    demote = await client.patch(me, headers=tenant["attorney"].headers, json={"role": "viewer"})
    assert demote.json()["role"] == "viewer"
    last = await client.patch(
        f"/api/v1/users/{tenant['attorney'].id}",
        headers=tenant["attorney"].headers,
        json={"is_active": False},
    )
    assert_envelope(last, 409, "conflict")


async def test_deactivation_ends_sessions_and_blocks_login(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    target = tenant["paralegal"]
    assert (
        await client.delete(f"/api/v1/users/{target.id}", headers=tenant.admin.headers)
    ).status_code == 204
    assert_envelope(
        await client.get("/api/v1/auth/me", headers=target.headers), 401, "unauthorized"
    )
    login = await client.post(
        "/api/v1/auth/login", json={"email": target.email, "password": PASSWORD}
    )
    assert_envelope(login, 401, "unauthorized")
    shown = (await client.get(f"/api/v1/users/{target.id}", headers=tenant.admin.headers)).json()
    assert shown["is_active"] is False


async def test_admin_password_reset_revokes_sessions(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    target = tenant["attorney"]
    weak = await client.patch(
        f"/api/v1/users/{target.id}", headers=tenant.admin.headers, json={"password": "short"}
    )
    assert_envelope(weak, 422, "validation_error")
    reset = await client.patch(
        f"/api/v1/users/{target.id}",
        headers=tenant.admin.headers,
        json={"password": "Reset-By-Admin-42"},
    )
    assert reset.status_code == 200
    assert_envelope(
        await client.get("/api/v1/auth/me", headers=target.headers), 401, "unauthorized"
    )


async def test_admins_demoting_each_other_at_once_leave_one_admin(
    client: httpx.AsyncClient, tenant: Tenant, make_settings: SettingsFactory
) -> None:
    """Two admins each demote the other in the same instant: one demotion must lose (the
    count and the change happen under one lock), so the firm never ends without an admin."""
    for _ in range(5):
        other = await add_user(make_settings(), tenant, Role.ADMIN)
        admins = [tenant.admin, other]

        async def demote(actor: TestUser, target: TestUser) -> int:
            response = await client.patch(
                f"/api/v1/users/{target.id}", json={"role": "attorney"}, headers=actor.headers
            )
            return response.status_code

        statuses = sorted(
            await asyncio.gather(demote(admins[0], admins[1]), demote(admins[1], admins[0]))
        )
        assert statuses[0] == 200 and statuses[1] in (403, 409), statuses
        listing = await client.get(
            "/api/v1/users", params={"role": "admin", "is_active": True}, headers=other.headers
        )
        admins_left = listing.json()["total"]
        assert admins_left == 1
        # Make the first admin an admin again for the next round.
        survivor = next(a for a in admins if a.id in {u["id"] for u in listing.json()["items"]})
        if survivor.id != tenant.admin.id:
            restored = await client.patch(
                f"/api/v1/users/{tenant.admin.id}",
                json={"role": "admin"},
                headers=survivor.headers,
            )
            assert restored.status_code == 200
        demoted_again = await client.patch(
            f"/api/v1/users/{other.id}", json={"role": "attorney"}, headers=tenant.admin.headers
        )
        assert demoted_again.status_code in (200, 409)
