"""Another organization gets 404 on every client, matter and member route, and empty lists."""

from __future__ import annotations

import httpx

from lexbase.core.permissions import Role
from tests.api.test_envelope import assert_envelope
from tests.factories import Tenant
from tests.matters.helpers import API, add_member, create_client, create_matter


async def test_other_organization_gets_404_everywhere(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    acme = await create_client(client, tenant[Role.ATTORNEY])
    open_matter = await create_matter(client, tenant[Role.ATTORNEY], client_id=acme["id"])
    walled = await create_matter(client, tenant[Role.ATTORNEY], restricted=True)
    member = tenant[Role.PARALEGAL]
    await add_member(client, tenant.admin, walled["id"], member.id)
    await add_member(client, tenant.admin, open_matter["id"], member.id)
    intruder = other_tenant.admin  # admins of B see through B's walls, never into A
    headers = intruder.headers

    client_url = f"{API}/clients/{acme['id']}"
    requests = [
        ("GET", client_url, None),
        ("PATCH", client_url, {"name": "Taken over"}),
        ("DELETE", client_url, None),
    ]
    for matter in (open_matter, walled):
        url = f"{API}/matters/{matter['id']}"
        requests += [
            ("GET", url, None),
            ("PATCH", url, {"name": "Taken over"}),
            ("PATCH", url, {"restricted": not matter["restricted"]}),
            ("DELETE", url, None),
            ("POST", f"{url}/members", {"user_id": intruder.id}),
            ("POST", f"{url}/members", {"user_id": member.id}),
            ("DELETE", f"{url}/members/{member.id}", None),
        ]
    for method, url, body in requests:
        response = await client.request(method, url, json=body, headers=headers)
        assert_envelope(response, 404, "not_found")

    empty = {"items": [], "total": 0, "next_cursor": None}
    assert (await client.get(f"{API}/clients", headers=headers)).json() == empty
    for params in ({}, {"client_id": acme["id"]}, {"restricted": "true"}, {"q": "Acme"}):
        listing = await client.get(f"{API}/matters", params=params, headers=headers)
        assert listing.json() == empty, params

    # Nothing of A's changed.
    owner = tenant.admin.headers
    assert (await client.get(client_url, headers=owner)).json()["name"] == "Acme Corp"
    for matter in (open_matter, walled):
        after = (await client.get(f"{API}/matters/{matter['id']}", headers=owner)).json()
        assert after["name"] == matter["name"]
        assert after["restricted"] == matter["restricted"]
        assert member.id in {m["user_id"] for m in after["members"]}


async def test_each_organization_lists_only_its_own(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    ours = await create_client(client, tenant[Role.PARALEGAL], name="Shared Name Inc")
    theirs = await create_client(client, other_tenant[Role.PARALEGAL], name="Shared Name Inc")
    our_matter = await create_matter(client, tenant[Role.PARALEGAL], name="Same")
    their_matter = await create_matter(client, other_tenant[Role.PARALEGAL], name="Same")

    for side, client_id, matter_id in (
        (tenant, ours["id"], our_matter["id"]),
        (other_tenant, theirs["id"], their_matter["id"]),
    ):
        for role in Role:
            headers = side[role].headers
            clients = (await client.get(f"{API}/clients?q=shared", headers=headers)).json()
            assert [c["id"] for c in clients["items"]] == [client_id]
            assert clients["total"] == 1
            matters = (await client.get(f"{API}/matters", headers=headers)).json()
            assert [m["id"] for m in matters["items"]] == [matter_id]
            assert matters["total"] == 1
