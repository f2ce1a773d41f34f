"""Walls over documents, moving between matters, reprocessing exactly once, deletion."""

from __future__ import annotations

import asyncio
import hashlib

import httpx

from lexbase.core.config import Settings
from lexbase.providers.resources import open_blob_store
from tests.api.test_envelope import assert_envelope
from tests.conftest import SettingsFactory
from tests.documents.helpers import OPINIONS, upload, wait_done
from tests.factories import Tenant


async def _walled_matter(c: httpx.AsyncClient, tenant: Tenant) -> str:
    response = await c.post(
        "/api/v1/matters",
        headers=tenant["attorney"].headers,
        json={"name": "Sealed", "restricted": True},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def test_documents_in_a_walled_matter_are_invisible(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    matter_id = await _walled_matter(client, tenant)
    attorney = tenant["attorney"].headers  # the creator, hence a member
    accepted = await upload(
        client, attorney, b"Privileged settlement memo.\n", "memo.txt", matter_id=matter_id
    )
    document_id = accepted["document"]["id"]
    await wait_done(client, attorney, document_id)
    for outsider in ("paralegal", "viewer"):
        headers = tenant[outsider].headers
        for suffix in ("", "/text", "/file", "/chunks", "/citations"):
            response = await client.get(f"/api/v1/documents/{document_id}{suffix}", headers=headers)
            assert_envelope(response, 404, "not_found")
        assert (await client.get("/api/v1/documents", headers=headers)).json()["total"] == 0
        jobs = (await client.get("/api/v1/jobs", headers=headers)).json()
        assert all(job["document_id"] != document_id for job in jobs["items"])
    assert (
        await client.get(f"/api/v1/documents/{document_id}", headers=tenant.admin.headers)
    ).status_code == 200
    # Uploading the same bytes as an outsider reveals nothing about the walled document:
    # to the outsider they are a new file (tests/documents/test_wall_breaches.py).
    again = await upload(
        client, tenant["paralegal"].headers, b"Privileged settlement memo.\n", "again.txt"
    )
    assert again["duplicate"] is False
    assert again["document"]["id"] != document_id


async def test_upload_into_invisible_matter_is_refused(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    matter_id = await _walled_matter(client, tenant)
    for headers in (tenant["paralegal"].headers, other_tenant.admin.headers):
        response = await client.post(
            "/api/v1/documents",
            headers=headers,
            files={"file": ("x.txt", b"content " + headers["Authorization"][-8:].encode())},
            data={"matter_id": matter_id},
        )
        error = assert_envelope(response, 422, "validation_error")
        assert error["details"][0]["loc"] == ["body", "matter_id"]


async def test_move_into_wall_hides_chunks_too(client: httpx.AsyncClient, tenant: Tenant) -> None:
    accepted = await upload(
        client, tenant["attorney"].headers, b"Open memo about discovery.\n", "open.txt"
    )
    document_id = accepted["document"]["id"]
    await wait_done(client, tenant["attorney"].headers, document_id)
    matter_id = await _walled_matter(client, tenant)
    moved = await client.patch(
        f"/api/v1/documents/{document_id}",
        headers=tenant["attorney"].headers,
        json={"matter_id": matter_id, "tags": ["privileged", "privileged", " memo "]},
    )
    assert moved.json()["matter_id"] == matter_id
    assert moved.json()["tags"] == ["privileged", "memo"]
    hidden = await client.get(
        f"/api/v1/documents/{document_id}/chunks", headers=tenant["viewer"].headers
    )
    assert_envelope(hidden, 404, "not_found")
    by_tag = await client.get(
        "/api/v1/documents?tag=privileged", headers=tenant["attorney"].headers
    )
    assert [d["id"] for d in by_tag.json()["items"]] == [document_id]


async def test_reprocess_replaces_output_exactly_once(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    headers = tenant["paralegal"].headers
    path = sorted(OPINIONS.glob("*.txt"))[1]
    accepted = await upload(client, headers, path.read_bytes(), path.name)
    document_id = accepted["document"]["id"]
    await wait_done(client, headers, document_id)
    before = (
        await client.get(f"/api/v1/documents/{document_id}/chunks?limit=100", headers=headers)
    ).json()
    job = await client.post(f"/api/v1/documents/{document_id}/reprocess", headers=headers)
    assert job.status_code == 202
    assert job.json()["job_id"] != accepted["job_id"]
    done = await wait_done(client, headers, document_id)
    assert done["status"] == "indexed"
    after = (
        await client.get(f"/api/v1/documents/{document_id}/chunks?limit=100", headers=headers)
    ).json()
    assert after["total"] == before["total"]
    assert [(c["start"], c["end"]) for c in after["items"]] == [
        (c["start"], c["end"]) for c in before["items"]
    ]
    assert {c["ordinal"] for c in after["items"]} == set(range(len(after["items"])))


async def test_delete_removes_everything(
    client: httpx.AsyncClient, tenant: Tenant, make_settings: SettingsFactory
) -> None:
    headers = tenant["paralegal"].headers
    data = b"A document that will be deleted.\n"
    accepted = await upload(client, headers, data, "gone.txt")
    document_id = accepted["document"]["id"]
    await wait_done(client, headers, document_id)
    settings: Settings = make_settings()
    key = hashlib.sha256(data).hexdigest()
    blobs = open_blob_store(settings)  # the service's store: local files, or S3 in the tier
    assert await blobs.exists(key)
    assert (
        await client.delete(f"/api/v1/documents/{document_id}", headers=headers)
    ).status_code == 204
    for suffix in ("", "/text", "/chunks"):
        assert_envelope(
            await client.get(f"/api/v1/documents/{document_id}{suffix}", headers=headers),
            404,
            "not_found",
        )
    for _ in range(200):
        if not await blobs.exists(key):
            break
        await asyncio.sleep(0.05)
    assert not await blobs.exists(key)
    await blobs.close()
    again = await upload(client, headers, data, "gone.txt")
    assert again["duplicate"] is False


async def test_matter_with_documents_cannot_be_deleted(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    matter_id = await _walled_matter(client, tenant)
    await upload(client, tenant["attorney"].headers, b"Filed here.\n", "f.txt", matter_id=matter_id)
    response = await client.delete(
        f"/api/v1/matters/{matter_id}", headers=tenant["attorney"].headers
    )
    assert_envelope(response, 409, "conflict")
