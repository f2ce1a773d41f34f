"""Clients: CRUD, listing, validation and who may change them."""

from __future__ import annotations

from datetime import datetime

import httpx

from lexbase.core.permissions import Role
from tests.api.test_envelope import assert_envelope
from tests.factories import Tenant
from tests.matters.helpers import API, MISSING_ID, create_client, create_matter


async def test_create_get_update_client(client: httpx.AsyncClient, tenant: Tenant) -> None:
    paralegal = tenant[Role.PARALEGAL]
    created = await create_client(
        client, paralegal, name="  Acme Corp  ", reference="C-001", notes="Key account"
    )
    assert created["name"] == "Acme Corp"
    assert created["reference"] == "C-001"
    assert created["notes"] == "Key account"
    assert created["created_at"].endswith("Z")
    assert datetime.fromisoformat(created["created_at"]).utcoffset() is not None

    fetched = await client.get(f"{API}/clients/{created['id']}", headers=tenant.admin.headers)
    assert fetched.status_code == 200
    assert fetched.json() == created

    patched = await client.patch(
        f"{API}/clients/{created['id']}",
        json={"name": "Acme Holdings", "notes": None},
        headers=paralegal.headers,
    )
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert body["name"] == "Acme Holdings"
    assert body["notes"] is None
    assert body["reference"] == "C-001"
    assert body["created_at"] == created["created_at"]
    updated_at = datetime.fromisoformat(body["updated_at"])
    assert updated_at >= datetime.fromisoformat(created["updated_at"])

    again = await client.get(f"{API}/clients/{created['id']}", headers=paralegal.headers)
    assert again.json() == body


async def test_list_filters_by_name_and_paginates(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    attorney = tenant[Role.ATTORNEY]
    for name in ("Globex", "Acme Corp", "Initech", "acme 100% Ltd"):
        await create_client(client, attorney, name=name)

    everything = (await client.get(f"{API}/clients", headers=attorney.headers)).json()
    assert everything["total"] == 4
    assert everything["next_cursor"] is None
    assert [c["name"] for c in everything["items"]] == sorted(
        ["Globex", "Acme Corp", "Initech", "acme 100% Ltd"]
    )

    acme = (await client.get(f"{API}/clients?q=ACME", headers=attorney.headers)).json()
    assert {c["name"] for c in acme["items"]} == {"Acme Corp", "acme 100% Ltd"}
    assert acme["total"] == 2
    # A LIKE wildcard in the filter is matched literally.
    percent = (await client.get(f"{API}/clients?q=%25", headers=attorney.headers)).json()
    assert [c["name"] for c in percent["items"]] == ["acme 100% Ltd"]

    first = (await client.get(f"{API}/clients?limit=3", headers=attorney.headers)).json()
    assert len(first["items"]) == 3 and first["total"] == 4
    assert first["next_cursor"]
    rest = (
        await client.get(
            f"{API}/clients", params={"cursor": first["next_cursor"]}, headers=attorney.headers
        )
    ).json()
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None
    seen = {c["id"] for c in first["items"]} | {c["id"] for c in rest["items"]}
    assert seen == {c["id"] for c in everything["items"]}


async def test_client_input_is_validated(client: httpx.AsyncClient, tenant: Tenant) -> None:
    headers = tenant[Role.ATTORNEY].headers
    for body, field in (
        ({"name": "   "}, "name"),
        ({"name": "x" * 201}, "name"),
        ({}, "name"),
        ({"name": "Acme", "organization_id": tenant.organization_id}, "organization_id"),
        ({"name": "Acme", "reference": "r" * 101}, "reference"),
    ):
        response = await client.post(f"{API}/clients", json=body, headers=headers)
        error = assert_envelope(response, 422, "validation_error")
        assert ["body", field] in [detail["loc"] for detail in error["details"]], body

    created = await create_client(client, tenant[Role.ATTORNEY])
    response = await client.patch(
        f"{API}/clients/{created['id']}", json={"name": None}, headers=headers
    )
    error = assert_envelope(response, 422, "validation_error")
    assert ["body", "name"] in [detail["loc"] for detail in error["details"]]
    listing = (await client.get(f"{API}/clients", headers=headers)).json()
    assert [c["name"] for c in listing["items"]] == ["Acme Corp"]


async def test_viewer_reads_but_cannot_write(client: httpx.AsyncClient, tenant: Tenant) -> None:
    viewer = tenant[Role.VIEWER]
    existing = await create_client(client, tenant[Role.PARALEGAL], name="Globex")

    assert_envelope(
        await client.post(f"{API}/clients", json={"name": "Nope"}, headers=viewer.headers),
        403,
        "forbidden",
    )
    assert_envelope(
        await client.patch(
            f"{API}/clients/{existing['id']}", json={"name": "Nope"}, headers=viewer.headers
        ),
        403,
        "forbidden",
    )
    listing = (await client.get(f"{API}/clients", headers=viewer.headers)).json()
    assert [c["name"] for c in listing["items"]] == ["Globex"]
    assert listing["total"] == 1


async def test_only_admins_delete_clients_and_matters_survive(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    acme = await create_client(client, tenant[Role.ATTORNEY])
    matter = await create_matter(client, tenant[Role.ATTORNEY], client_id=acme["id"])

    for role in (Role.VIEWER, Role.PARALEGAL, Role.ATTORNEY):
        response = await client.delete(f"{API}/clients/{acme['id']}", headers=tenant[role].headers)
        assert_envelope(response, 403, "forbidden")
    still = await client.get(f"{API}/clients/{acme['id']}", headers=tenant.admin.headers)
    assert still.json()["name"] == "Acme Corp"

    deleted = await client.delete(f"{API}/clients/{acme['id']}", headers=tenant.admin.headers)
    assert deleted.status_code == 204
    assert deleted.content == b""
    gone = await client.get(f"{API}/clients/{acme['id']}", headers=tenant.admin.headers)
    assert_envelope(gone, 404, "not_found")

    orphan = await client.get(f"{API}/matters/{matter['id']}", headers=tenant.admin.headers)
    assert orphan.status_code == 200
    assert orphan.json()["client_id"] is None
    assert orphan.json()["name"] == matter["name"]


async def test_unknown_client_is_404(client: httpx.AsyncClient, tenant: Tenant) -> None:
    headers = tenant.admin.headers
    url = f"{API}/clients/{MISSING_ID}"
    error = assert_envelope(await client.get(url, headers=headers), 404, "not_found")
    assert error["message"] == "Client not found"
    assert_envelope(await client.patch(url, json={"name": "x"}, headers=headers), 404, "not_found")
    assert_envelope(await client.delete(url, headers=headers), 404, "not_found")
