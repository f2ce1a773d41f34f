"""Ethical walls: a restricted matter exists only for its members and the organization's admins."""

from __future__ import annotations

import httpx

from lexbase.core.permissions import Role
from tests.api.test_envelope import assert_envelope
from tests.conftest import SettingsFactory
from tests.factories import Tenant
from tests.matters.helpers import (
    API,
    add_member,
    add_user,
    assert_hidden,
    create_matter,
    visible_matter_ids,
)


async def test_non_members_cannot_see_a_walled_matter(
    client: httpx.AsyncClient, tenant: Tenant, make_settings: SettingsFactory
) -> None:
    insider = tenant[Role.ATTORNEY]
    outsider = await add_user(make_settings(), tenant, Role.ATTORNEY)
    open_matter = await create_matter(client, insider, name="Open")
    walled = await create_matter(client, insider, name="Walled", restricted=True)

    for user in (outsider, tenant[Role.PARALEGAL], tenant[Role.VIEWER]):
        await assert_hidden(client, user, walled["id"])
        assert await visible_matter_ids(client, user) == ({open_matter["id"]}, 1)
        restricted_only = await client.get(f"{API}/matters?restricted=true", headers=user.headers)
        assert restricted_only.json() == {"items": [], "total": 0, "next_cursor": None}

    # Admins see through every wall; the member sees their own matter.
    for user in (tenant.admin, insider):
        assert await visible_matter_ids(client, user) == ({open_matter["id"], walled["id"]}, 2)
        fetched = await client.get(f"{API}/matters/{walled['id']}", headers=user.headers)
        assert fetched.json()["name"] == "Walled"
    unchanged = await client.get(f"{API}/matters/{walled['id']}", headers=insider.headers)
    assert unchanged.json()["name"] == "Walled"


async def test_creator_of_a_walled_matter_becomes_its_member(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    attorney = tenant[Role.ATTORNEY]
    walled = await create_matter(client, attorney, restricted=True)
    assert walled["restricted"] is True
    assert walled["member_count"] == 1
    [member] = walled["members"]
    assert member["user_id"] == attorney.id
    assert member["email"] == attorney.email
    assert member["full_name"] == "Attorney"
    assert member["added_by"] == attorney.id
    assert member["added_at"].endswith("Z")


async def test_paralegal_cannot_create_or_change_walls(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    paralegal = tenant[Role.PARALEGAL]
    response = await client.post(
        f"{API}/matters", json={"name": "Secret", "restricted": True}, headers=paralegal.headers
    )
    assert_envelope(response, 403, "forbidden")
    assert await visible_matter_ids(client, tenant.admin) == (set(), 0)

    matter = await create_matter(client, paralegal)
    url = f"{API}/matters/{matter['id']}"
    response = await client.patch(url, json={"restricted": True}, headers=paralegal.headers)
    assert_envelope(response, 403, "forbidden")
    after = await client.get(url, headers=paralegal.headers)
    assert after.json()["restricted"] is False

    response = await client.post(
        f"{url}/members", json={"user_id": paralegal.id}, headers=paralegal.headers
    )
    assert_envelope(response, 403, "forbidden")
    # Re-sending the current value is not a wall change.
    same = await client.patch(
        url, json={"restricted": False, "name": "N"}, headers=paralegal.headers
    )
    assert same.status_code == 200 and same.json()["name"] == "N"


async def test_restricting_a_matter_keeps_the_actor_inside(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    attorney, paralegal = tenant[Role.ATTORNEY], tenant[Role.PARALEGAL]
    matter = await create_matter(client, paralegal)
    url = f"{API}/matters/{matter['id']}"

    walled = await client.patch(url, json={"restricted": True}, headers=attorney.headers)
    assert walled.status_code == 200, walled.text
    assert walled.json()["restricted"] is True
    assert [m["user_id"] for m in walled.json()["members"]] == [attorney.id]
    await assert_hidden(client, paralegal, matter["id"])

    lifted = await client.patch(url, json={"restricted": False}, headers=attorney.headers)
    assert lifted.json()["restricted"] is False
    assert (await client.get(url, headers=paralegal.headers)).json()["id"] == matter["id"]


async def test_admin_restricting_is_not_added_as_member(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    matter = await create_matter(client, tenant[Role.PARALEGAL])
    url = f"{API}/matters/{matter['id']}"
    response = await client.patch(url, json={"restricted": True}, headers=tenant.admin.headers)
    assert response.json()["restricted"] is True
    assert response.json()["members"] == []
    assert (await client.get(url, headers=tenant.admin.headers)).json()["member_count"] == 0
    await assert_hidden(client, tenant[Role.PARALEGAL], matter["id"])


async def test_adding_and_removing_members(client: httpx.AsyncClient, tenant: Tenant) -> None:
    paralegal, viewer = tenant[Role.PARALEGAL], tenant[Role.VIEWER]
    walled = await create_matter(client, tenant.admin, restricted=True)
    matter_id = walled["id"]
    await assert_hidden(client, paralegal, matter_id)

    member = await add_member(client, tenant.admin, matter_id, paralegal.id)
    assert member["user_id"] == paralegal.id
    assert member["email"] == paralegal.email
    assert member["added_by"] == tenant.admin.id

    seen = await client.get(f"{API}/matters/{matter_id}", headers=paralegal.headers)
    assert seen.status_code == 200
    assert {m["user_id"] for m in seen.json()["members"]} == {tenant.admin.id, paralegal.id}
    assert seen.json()["member_count"] == 2
    assert await visible_matter_ids(client, paralegal) == ({matter_id}, 1)
    await assert_hidden(client, viewer, matter_id)

    duplicate = await client.post(
        f"{API}/matters/{matter_id}/members",
        json={"user_id": paralegal.id},
        headers=tenant.admin.headers,
    )
    assert_envelope(duplicate, 409, "conflict")

    url = f"{API}/matters/{matter_id}/members/{paralegal.id}"
    removed = await client.delete(url, headers=tenant.admin.headers)
    assert removed.status_code == 204
    await assert_hidden(client, paralegal, matter_id)
    error = assert_envelope(
        await client.delete(url, headers=tenant.admin.headers), 404, "not_found"
    )
    assert "not a member" in error["message"]


async def test_member_must_be_an_active_user_of_the_organization(
    client: httpx.AsyncClient,
    tenant: Tenant,
    other_tenant: Tenant,
    make_settings: SettingsFactory,
) -> None:
    inactive = await add_user(make_settings(), tenant, Role.PARALEGAL, active=False)
    matter = await create_matter(client, tenant[Role.ATTORNEY], restricted=True)
    url = f"{API}/matters/{matter['id']}/members"
    for user_id in (other_tenant[Role.PARALEGAL].id, inactive.id, "no-such-user"):
        response = await client.post(
            url, json={"user_id": user_id}, headers=tenant[Role.ATTORNEY].headers
        )
        error = assert_envelope(response, 422, "validation_error")
        assert error["details"][0]["loc"] == ["body", "user_id"]
    extra = await client.post(
        url, json={"user_id": inactive.id, "role": "x"}, headers=tenant.admin.headers
    )
    assert_envelope(extra, 422, "validation_error")
    detail = await client.get(f"{API}/matters/{matter['id']}", headers=tenant.admin.headers)
    assert [m["user_id"] for m in detail.json()["members"]] == [tenant[Role.ATTORNEY].id]


async def test_member_attorney_may_delete_a_walled_matter(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    attorney = tenant[Role.ATTORNEY]
    walled = await create_matter(client, attorney, restricted=True)
    deleted = await client.delete(f"{API}/matters/{walled['id']}", headers=attorney.headers)
    assert deleted.status_code == 204
    assert await visible_matter_ids(client, tenant.admin) == (set(), 0)
