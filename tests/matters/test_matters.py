"""Matters: CRUD, filters, validation and role gates (walls are in test_walls.py)."""

from __future__ import annotations

import httpx

from lexbase.core.permissions import Role
from tests.api.test_envelope import assert_envelope
from tests.factories import Tenant
from tests.matters.helpers import API, MISSING_ID, create_client, create_matter


async def test_create_and_get_matter(client: httpx.AsyncClient, tenant: Tenant) -> None:
    paralegal = tenant[Role.PARALEGAL]
    acme = await create_client(client, paralegal)
    created = await create_matter(
        client,
        paralegal,
        name=" Acme v. Globex ",
        client_id=acme["id"],
        reference="M-2024-001",
        description="Breach of supply contract",
    )
    assert created["name"] == "Acme v. Globex"
    assert created["client_id"] == acme["id"]
    assert created["reference"] == "M-2024-001"
    assert created["description"] == "Breach of supply contract"
    assert created["status"] == "open"
    assert created["restricted"] is False
    assert created["created_by"] == paralegal.id
    assert created["members"] == []
    assert created["member_count"] == 0
    assert created["created_at"].endswith("Z")

    fetched = await client.get(f"{API}/matters/{created['id']}", headers=tenant.admin.headers)
    assert fetched.status_code == 200
    assert fetched.json() == created


async def test_update_matter_fields(client: httpx.AsyncClient, tenant: Tenant) -> None:
    paralegal = tenant[Role.PARALEGAL]
    acme = await create_client(client, paralegal)
    globex = await create_client(client, paralegal, name="Globex")
    matter = await create_matter(client, paralegal, client_id=acme["id"])
    url = f"{API}/matters/{matter['id']}"

    response = await client.patch(
        url,
        json={"name": "Renamed", "status": "closed", "client_id": globex["id"], "reference": "R"},
        headers=paralegal.headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["name"], body["status"], body["client_id"], body["reference"]) == (
        "Renamed",
        "closed",
        globex["id"],
        "R",
    )
    assert body["description"] is None and body["restricted"] is False

    unlinked = await client.patch(url, json={"client_id": None}, headers=paralegal.headers)
    assert unlinked.json()["client_id"] is None
    assert (await client.get(url, headers=paralegal.headers)).json()["client_id"] is None


async def test_client_must_belong_to_the_callers_organization(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    foreign = await create_client(client, other_tenant[Role.ATTORNEY])
    attorney = tenant[Role.ATTORNEY]
    for client_id in (foreign["id"], MISSING_ID):
        response = await client.post(
            f"{API}/matters", json={"name": "X", "client_id": client_id}, headers=attorney.headers
        )
        error = assert_envelope(response, 422, "validation_error")
        assert error["details"][0]["loc"] == ["body", "client_id"]

    matter = await create_matter(client, attorney)
    response = await client.patch(
        f"{API}/matters/{matter['id']}", json={"client_id": foreign["id"]}, headers=attorney.headers
    )
    error = assert_envelope(response, 422, "validation_error")
    assert error["details"][0]["loc"] == ["body", "client_id"]
    fetched = await client.get(f"{API}/matters/{matter['id']}", headers=attorney.headers)
    assert fetched.json()["client_id"] is None


async def test_matter_input_is_validated(client: httpx.AsyncClient, tenant: Tenant) -> None:
    headers = tenant[Role.ATTORNEY].headers
    for body, field in (
        ({"name": ""}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": "X", "restricted": "yes"}, "restricted"),
        ({"name": "X", "created_by": tenant.admin.id}, "created_by"),
    ):
        response = await client.post(f"{API}/matters", json=body, headers=headers)
        error = assert_envelope(response, 422, "validation_error")
        assert ["body", field] in [detail["loc"] for detail in error["details"]], body

    matter = await create_matter(client, tenant[Role.ATTORNEY])
    url = f"{API}/matters/{matter['id']}"
    for body, field in (({"status": "lost"}, "status"), ({"restricted": None}, "restricted")):
        error = assert_envelope(
            await client.patch(url, json=body, headers=headers), 422, "validation_error"
        )
        assert ["body", field] in [detail["loc"] for detail in error["details"]], body
    assert (await client.get(url, headers=headers)).json()["status"] == "open"


async def test_list_filters(client: httpx.AsyncClient, tenant: Tenant) -> None:
    attorney = tenant[Role.ATTORNEY]
    acme = await create_client(client, attorney)
    first = await create_matter(client, attorney, name="Acme lease", client_id=acme["id"])
    second = await create_matter(client, attorney, name="Globex merger", reference="ACME-7")
    walled = await create_matter(client, attorney, name="Initech audit", restricted=True)
    await client.patch(
        f"{API}/matters/{second['id']}", json={"status": "closed"}, headers=attorney.headers
    )

    async def ids(**params: str) -> list[str]:
        response = await client.get(f"{API}/matters", params=params, headers=attorney.headers)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["total"] == len(body["items"])
        return [item["id"] for item in body["items"]]

    # Newest first.
    assert await ids() == [walled["id"], second["id"], first["id"]]
    assert await ids(q="acme") == [second["id"], first["id"]]
    assert await ids(client_id=acme["id"]) == [first["id"]]
    assert await ids(status="closed") == [second["id"]]
    assert await ids(restricted="true") == [walled["id"]]
    assert await ids(restricted="false", status="open") == [first["id"]]

    page = (await client.get(f"{API}/matters?limit=2", headers=attorney.headers)).json()
    assert page["total"] == 3 and len(page["items"]) == 2 and page["next_cursor"]
    summary = next(item for item in page["items"] if item["id"] == walled["id"])
    assert summary["member_count"] == 1 and "members" not in summary
    bad = await client.get(f"{API}/matters?status=lost", headers=attorney.headers)
    assert_envelope(bad, 422, "validation_error")


async def test_role_gates(client: httpx.AsyncClient, tenant: Tenant) -> None:
    viewer, paralegal = tenant[Role.VIEWER], tenant[Role.PARALEGAL]
    matter = await create_matter(client, paralegal)
    url = f"{API}/matters/{matter['id']}"

    response = await client.post(f"{API}/matters", json={"name": "X"}, headers=viewer.headers)
    assert_envelope(response, 403, "forbidden")
    assert_envelope(
        await client.patch(url, json={"name": "X"}, headers=viewer.headers), 403, "forbidden"
    )
    assert (await client.get(url, headers=viewer.headers)).json()["name"] == matter["name"]
    # Deleting a matter is a wall-manager's decision.
    assert_envelope(await client.delete(url, headers=paralegal.headers), 403, "forbidden")

    deleted = await client.delete(url, headers=tenant[Role.ATTORNEY].headers)
    assert deleted.status_code == 204
    error = assert_envelope(await client.get(url, headers=paralegal.headers), 404, "not_found")
    assert error["message"] == "Matter not found"
    assert (await client.get(f"{API}/matters", headers=paralegal.headers)).json()["total"] == 0


async def test_unknown_matter_is_404(client: httpx.AsyncClient, tenant: Tenant) -> None:
    headers = tenant.admin.headers
    url = f"{API}/matters/{MISSING_ID}"
    assert_envelope(await client.get(url, headers=headers), 404, "not_found")
    assert_envelope(await client.patch(url, json={"name": "x"}, headers=headers), 404, "not_found")
    assert_envelope(await client.delete(url, headers=headers), 404, "not_found")
    members = f"{url}/members"
    response = await client.post(members, json={"user_id": tenant.admin.id}, headers=headers)
    assert_envelope(response, 404, "not_found")
    response = await client.delete(f"{members}/{tenant.admin.id}", headers=headers)
    assert_envelope(response, 404, "not_found")
