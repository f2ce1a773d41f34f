"""Every mutation of clients, matters and walls leaves an audit event in its transaction."""

from __future__ import annotations

import httpx

from lexbase.core.permissions import Role
from tests.conftest import SettingsFactory
from tests.factories import Tenant
from tests.matters.helpers import API, add_member, audit_events, create_client, create_matter


async def test_client_mutations_are_audited(
    client: httpx.AsyncClient, tenant: Tenant, make_settings: SettingsFactory
) -> None:
    attorney = tenant[Role.ATTORNEY]
    acme = await create_client(client, attorney)
    url = f"{API}/clients/{acme['id']}"
    await client.patch(url, json={"name": "Acme Holdings", "notes": None}, headers=attorney.headers)
    assert (await client.delete(url, headers=tenant.admin.headers)).status_code == 204

    events = await audit_events(make_settings(), acme["id"])
    assert [e.event_type for e in events] == ["client.created", "client.updated", "client.deleted"]
    assert {(e.resource_type, e.resource_id) for e in events} == {("client", acme["id"])}
    assert {e.organization_id for e in events} == {tenant.organization_id}
    assert [e.actor_id for e in events] == [attorney.id, attorney.id, tenant.admin.id]
    assert events[0].details == {"name": "Acme Corp"}
    # `notes` was already empty, so only the name changed.
    assert events[1].details == {"fields": ["name"]}
    assert events[2].details == {"name": "Acme Holdings"}


async def test_matter_and_wall_mutations_are_audited(
    client: httpx.AsyncClient, tenant: Tenant, make_settings: SettingsFactory
) -> None:
    attorney, paralegal = tenant[Role.ATTORNEY], tenant[Role.PARALEGAL]
    matter = await create_matter(client, paralegal)
    url = f"{API}/matters/{matter['id']}"
    await client.patch(url, json={"name": "Renamed", "status": "closed"}, headers=paralegal.headers)
    await client.patch(url, json={"restricted": True}, headers=attorney.headers)
    await add_member(client, attorney, matter["id"], paralegal.id)
    await client.delete(f"{url}/members/{paralegal.id}", headers=attorney.headers)
    await client.delete(url, headers=attorney.headers)

    events = await audit_events(make_settings(), matter["id"])
    assert [(e.event_type, e.actor_id, e.details) for e in events] == [
        (
            "matter.created",
            paralegal.id,
            {"name": "Acme v. Globex", "client_id": None, "restricted": False},
        ),
        ("matter.updated", paralegal.id, {"fields": ["name", "status"]}),
        ("matter.wall_changed", attorney.id, {"old": False, "new": True}),
        ("matter.member_added", attorney.id, {"user_id": attorney.id, "automatic": True}),
        ("matter.member_added", attorney.id, {"user_id": paralegal.id}),
        ("matter.member_removed", attorney.id, {"user_id": paralegal.id}),
        ("matter.deleted", attorney.id, {"name": "Renamed"}),
    ]
    assert {(e.resource_type, e.resource_id) for e in events} == {("matter", matter["id"])}


async def test_creating_a_walled_matter_audits_the_creators_membership(
    client: httpx.AsyncClient, tenant: Tenant, make_settings: SettingsFactory
) -> None:
    matter = await create_matter(client, tenant[Role.ATTORNEY], restricted=True)
    events = await audit_events(make_settings(), matter["id"])
    assert [e.event_type for e in events] == ["matter.created", "matter.member_added"]
    assert events[0].details["restricted"] is True


async def test_refused_and_empty_changes_leave_no_event(
    client: httpx.AsyncClient, tenant: Tenant, make_settings: SettingsFactory
) -> None:
    paralegal = tenant[Role.PARALEGAL]
    matter = await create_matter(client, paralegal, name="Same")
    url = f"{API}/matters/{matter['id']}"
    refused = await client.patch(
        url, json={"name": "Other", "restricted": True}, headers=paralegal.headers
    )
    assert refused.status_code == 403
    unchanged = await client.patch(url, json={"name": "Same"}, headers=paralegal.headers)
    assert unchanged.status_code == 200
    unknown_user = await client.post(
        f"{url}/members", json={"user_id": "missing"}, headers=tenant.admin.headers
    )
    assert unknown_user.status_code == 422

    events = await audit_events(make_settings(), matter["id"])
    assert [e.event_type for e in events] == ["matter.created"]
    assert (await client.get(url, headers=paralegal.headers)).json()["name"] == "Same"
