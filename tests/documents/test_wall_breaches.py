"""Ethical walls against a hostile insider, through the API: moving documents across a wall,
jobs that follow their document, idempotency replays, duplicate checks, and stored bytes that
outlive a refusal. Each test reproduces a demonstrated breach and checks it now fails safe."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

import httpx

from lexbase.app import create_app
from lexbase.core.config import Settings
from lexbase.core.permissions import Role
from lexbase.documents.blobs import BlobKeeper
from lexbase.providers.blobstores.local import LocalBlobStore
from tests.api.test_envelope import assert_envelope
from tests.conftest import SettingsFactory, running
from tests.documents.helpers import upload, wait_done
from tests.factories import Tenant
from tests.matters.helpers import add_member, add_user, create_matter

API = "/api/v1"
MEMO = b"Privileged settlement memo for the Northwind matter.\n"


async def walled_matter(c: httpx.AsyncClient, tenant: Tenant, *members: Role) -> str:
    """A restricted matter made by the attorney (a member), with these roles added."""
    matter = await create_matter(c, tenant["attorney"], name="Walled", restricted=True)
    for role in members:
        await add_member(c, tenant["attorney"], matter["id"], tenant[role].id)
    return str(matter["id"])


async def readable_by(c: httpx.AsyncClient, headers: dict[str, str], document_id: str) -> bool:
    response = await c.get(f"{API}/documents/{document_id}/text", headers=headers)
    if response.status_code == 404:
        return False
    assert response.status_code in (200, 409), response.text
    return True


def blob_path(settings: Settings, data: bytes) -> Path:
    import hashlib

    key = hashlib.sha256(data).hexdigest()
    return settings.blob_dir / key[:2] / key[2:4] / key


# --- 2. moving a document across a wall -------------------------------------------------


async def test_paralegal_member_cannot_move_a_document_out_of_a_wall(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    matter_id = await walled_matter(client, tenant, Role.PARALEGAL)
    open_matter = await create_matter(client, tenant["paralegal"], name="Open")
    paralegal = tenant["paralegal"].headers
    walled = await upload(client, paralegal, MEMO, "memo.txt", matter_id=matter_id)
    document_id = walled["document"]["id"]
    for target in (None, open_matter["id"]):
        response = await client.patch(
            f"{API}/documents/{document_id}", json={"matter_id": target}, headers=paralegal
        )
        error = assert_envelope(response, 403, "forbidden")
        assert "restricted matter" in error["message"]
    document = (await client.get(f"{API}/documents/{document_id}", headers=paralegal)).json()
    assert document["matter_id"] == matter_id
    assert not await readable_by(client, tenant["viewer"].headers, document_id)
    # Nor into one: putting an open document behind a wall changes the wall as well.
    loose = await upload(client, paralegal, b"An open note.\n", "note.txt")
    into = await client.patch(
        f"{API}/documents/{loose['document']['id']}",
        json={"matter_id": matter_id},
        headers=paralegal,
    )
    assert_envelope(into, 403, "forbidden")
    # Between open matters a paralegal may move documents; an attorney member may lift one.
    moved = await client.patch(
        f"{API}/documents/{loose['document']['id']}",
        json={"matter_id": open_matter["id"]},
        headers=paralegal,
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["matter_id"] == open_matter["id"]
    lifted = await client.patch(
        f"{API}/documents/{document_id}",
        json={"matter_id": None},
        headers=tenant["attorney"].headers,
    )
    assert lifted.status_code == 200, lifted.text
    assert await readable_by(client, tenant["viewer"].headers, document_id)


# --- 3. everything that carries a document's matter moves with it -----------------------


async def test_jobs_follow_their_document_behind_a_wall(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    matter_id = await walled_matter(client, tenant)
    accepted = await upload(client, tenant["paralegal"].headers, MEMO, "memo.txt")
    document_id, job_id = accepted["document"]["id"], accepted["job_id"]
    await wait_done(client, tenant["paralegal"].headers, document_id)
    viewer = tenant["viewer"].headers
    assert (await client.get(f"{API}/jobs/{job_id}", headers=viewer)).status_code == 200
    moved = await client.patch(
        f"{API}/documents/{document_id}",
        json={"matter_id": matter_id},
        headers=tenant["attorney"].headers,
    )
    assert moved.status_code == 200, moved.text
    hidden = await client.get(f"{API}/jobs/{job_id}", headers=viewer)
    assert_envelope(hidden, 404, "not_found")
    listing = (await client.get(f"{API}/jobs", headers=viewer)).json()
    assert job_id not in {job["id"] for job in listing["items"]}
    assert MEMO.decode()[:20] not in listing.__repr__()
    for suffix in ("", "/text", "/chunks", "/citations"):
        response = await client.get(f"{API}/documents/{document_id}{suffix}", headers=viewer)
        assert_envelope(response, 404, "not_found")
    search = await client.post(
        f"{API}/search", json={"query": "privileged settlement memo"}, headers=viewer
    )
    assert document_id not in {hit["document_id"] for hit in search.json()["results"]}
    member = await client.get(f"{API}/jobs/{job_id}", headers=tenant["attorney"].headers)
    assert member.json()["document_id"] == document_id


def test_every_document_scoped_table_is_registered() -> None:
    """A table carrying both a document and a matter must move with its document."""
    import lexbase.models  # noqa: F401 - every table
    from lexbase.core.scope import DOCUMENT_SCOPED
    from lexbase.models import Base

    registered = {model.__table__.name for model, _ in DOCUMENT_SCOPED}
    carrying = {
        table.name
        for table in Base.metadata.sorted_tables
        if {"document_id", "matter_id"} <= set(table.columns.keys())
    }
    # Jobs name their document as their subject, and move with it too.
    assert registered == carrying | {"jobs"}


# --- 4. idempotency replays pass the same checks as first requests ----------------------


async def test_replayed_idempotency_key_reveals_nothing_to_a_non_member(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    matter_id = await walled_matter(client, tenant)
    key = {"Idempotency-Key": "walled-upload-1"}
    first = await upload(
        client, {**tenant["attorney"].headers, **key}, MEMO, "memo.txt", matter_id=matter_id
    )
    walled_id = first["document"]["id"]
    outsider = {**tenant["paralegal"].headers, **key}
    replay = await client.post(
        f"{API}/documents",
        headers=outsider,
        files={"file": ("memo.txt", MEMO)},
        data={"matter_id": matter_id},
    )
    error = assert_envelope(replay, 422, "validation_error")
    assert error["details"][0]["loc"] == ["body", "matter_id"]
    assert walled_id not in replay.text
    # Without the matter: another user's key is not this user's key — a new document.
    fresh = await upload(client, outsider, MEMO, "memo.txt")
    assert fresh["document"]["id"] != walled_id
    assert fresh["duplicate"] is False


async def test_replay_after_losing_access_is_refused(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    matter_id = await walled_matter(client, tenant, Role.PARALEGAL)
    headers = {**tenant["paralegal"].headers, "Idempotency-Key": "walled-upload-2"}
    first = await upload(client, headers, MEMO, "memo.txt", matter_id=matter_id)
    again = await upload(client, headers, MEMO, "memo.txt", matter_id=matter_id)
    assert again["document"]["id"] == first["document"]["id"]
    removed = await client.delete(
        f"{API}/matters/{matter_id}/members/{tenant['paralegal'].id}",
        headers=tenant["attorney"].headers,
    )
    assert removed.status_code == 204
    replay = await client.post(
        f"{API}/documents",
        headers=headers,
        files={"file": ("memo.txt", MEMO)},
        data={"matter_id": matter_id},
    )
    assert_envelope(replay, 422, "validation_error")
    assert first["document"]["id"] not in replay.text


# --- 8. the duplicate check says nothing about walled files -----------------------------


async def test_walled_duplicate_behaves_like_a_new_file(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    matter_id = await walled_matter(client, tenant)
    walled = await upload(client, tenant["attorney"].headers, MEMO, "memo.txt", matter_id=matter_id)
    walled_id = walled["document"]["id"]
    never_seen = await upload(client, tenant["paralegal"].headers, b"Something new.\n", "n.txt")
    copy = await upload(client, tenant["paralegal"].headers, MEMO, "copy.txt")
    # Same status, same shape, same answers as a file nobody has stored.
    assert copy["duplicate"] is never_seen["duplicate"] is False
    assert copy.keys() == never_seen.keys()
    assert copy["document"]["status"] == never_seen["document"]["status"] == "queued"
    assert copy["document"]["id"] != walled_id
    assert walled_id not in str(copy)
    done = await wait_done(client, tenant["paralegal"].headers, copy["document"]["id"])
    assert done["status"] == "indexed"
    # The walled document is untouched, and a member still gets it as the duplicate.
    member = await upload(client, tenant["attorney"].headers, MEMO, "again.txt")
    assert member["duplicate"] is True
    assert member["document"]["id"] in {walled_id, copy["document"]["id"]}
    listing = (await client.get(f"{API}/documents", headers=tenant["paralegal"].headers)).json()
    assert {d["id"] for d in listing["items"]} == {
        copy["document"]["id"],
        never_seen["document"]["id"],
    }


# --- 9. refused uploads leave no bytes; a sweep removes orphans; races keep files ---------


async def test_refused_uploads_leave_no_bytes(
    make_settings: SettingsFactory, tenant: Tenant
) -> None:
    settings = make_settings(embedded_workers=0)
    matter_id = None
    async with running(create_app(settings)) as c:
        matter_id = await walled_matter(c, tenant)
        refusals: list[tuple[bytes, dict[str, Any], dict[str, str], int]] = [
            (b"Into a matter I cannot see.\n", {"matter_id": matter_id}, {}, 422),
            (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, {}, {}, 415),
            (b"%PDF-1.7\n a damaged body", {}, {}, 422),
        ]
        key = {"Idempotency-Key": "reused-key"}
        await upload(c, {**tenant["paralegal"].headers, **key}, b"First body.\n", "a.txt")
        refusals.append((b"Second body under the same key.\n", {}, key, 409))
        for data, form, extra, status in refusals:
            filename = {415: "x.png", 422: "x.pdf"}.get(status, "x.txt") if not form else "x.txt"
            response = await c.post(
                f"{API}/documents",
                headers={**tenant["paralegal"].headers, **extra},
                files={"file": (filename, data)},
                data=form,
            )
            assert response.status_code == status, response.text
            await asyncio.sleep(0.2)  # releases run right after the transaction
            assert not blob_path(settings, data).exists(), f"{status}: bytes left behind"
        assert blob_path(settings, b"First body.\n").exists()


async def test_sweep_removes_orphans_only(make_settings: SettingsFactory, tenant: Tenant) -> None:
    settings = make_settings(embedded_workers=0)
    app = create_app(settings)
    async with running(app) as c:
        kept = await upload(c, tenant["paralegal"].headers, b"A stored memo.\n", "kept.txt")
        resources = app.state.resources
        store = LocalBlobStore(settings.blob_dir)
        orphan = await store.put(b"Bytes nothing refers to.\n")
        young_orphan = await store.put(b"Bytes of an upload still arriving.\n")
        pinned = await store.put(b"Bytes of an upload that pinned them.\n")
        keeper = BlobKeeper(resources)
        pin_id = await keeper.pin(pinned)
        two_hours_ago = time.time() - 7200
        for key in (orphan, pinned, kept["document"]["sha256"]):
            path = settings.blob_dir / key[:2] / key[2:4] / key
            os.utime(path, (two_hours_ago, two_hours_ago))
        assert await keeper.sweep() == 1
        assert not await store.exists(orphan)
        for key in (young_orphan, pinned, kept["document"]["sha256"]):
            assert await store.exists(key)
        await keeper.release(pinned, pin_id)
        assert not await store.exists(pinned)
        file = await c.get(
            f"{API}/documents/{kept['document']['id']}/file",
            headers=tenant["paralegal"].headers,
        )
        assert file.content == b"A stored memo.\n"


async def test_deleting_identical_bytes_during_an_upload_keeps_them(
    make_settings: SettingsFactory, tenant: Tenant
) -> None:
    settings = make_settings(embedded_workers=0)
    app = create_app(settings)
    async with running(app) as c:
        first = await upload(c, tenant["paralegal"].headers, MEMO, "memo.txt")
        keeper = BlobKeeper(app.state.resources)
        # An upload of the same bytes has pinned them and not yet committed its document.
        pin_id = await keeper.pin(first["document"]["sha256"])
        deleted = await c.delete(
            f"{API}/documents/{first['document']['id']}", headers=tenant["paralegal"].headers
        )
        assert deleted.status_code == 204
        await asyncio.sleep(0.3)
        assert blob_path(settings, MEMO).exists()
        await keeper.release(first["document"]["sha256"], pin_id)
        assert not blob_path(settings, MEMO).exists()


async def test_concurrent_uploads_and_deletes_never_lose_a_file(
    make_settings: SettingsFactory, tenant: Tenant
) -> None:
    settings = make_settings(embedded_workers=0)
    second = await add_user(settings, tenant, Role.PARALEGAL)
    async with running(create_app(settings)) as c:
        users = (tenant["paralegal"], tenant["attorney"], second)

        async def upload_as(index: int) -> None:
            headers = users[index % len(users)].headers
            await c.post(f"{API}/documents", headers=headers, files={"file": ("m.txt", MEMO)})

        async def delete_all() -> None:
            listing = await c.get(f"{API}/documents", headers=tenant.admin.headers)
            for document in listing.json()["items"]:
                await c.delete(f"{API}/documents/{document['id']}", headers=tenant.admin.headers)

        for round_ in range(6):
            await asyncio.gather(upload_as(round_), delete_all(), upload_as(round_ + 1))
        await asyncio.sleep(0.5)
        listing = (await c.get(f"{API}/documents", headers=tenant.admin.headers)).json()
        for document in listing["items"]:
            file = await c.get(
                f"{API}/documents/{document['id']}/file", headers=tenant.admin.headers
            )
            assert file.status_code == 200, file.text
            assert file.content == MEMO
        if not listing["items"]:
            assert not blob_path(settings, MEMO).exists()


# --- reprocess is coalesced ---------------------------------------------------------------


async def test_reprocess_joins_the_unfinished_run(
    make_settings: SettingsFactory, tenant: Tenant
) -> None:
    async with running(create_app(make_settings(embedded_workers=0))) as c:
        headers = tenant["paralegal"].headers
        accepted = await upload(c, headers, MEMO, "memo.txt")
        document_id = accepted["document"]["id"]
        runs = set()
        for _ in range(5):
            response = await c.post(f"{API}/documents/{document_id}/reprocess", headers=headers)
            assert response.status_code == 202, response.text
            runs.add(response.json()["job_id"])
        assert runs == {accepted["job_id"]}
        jobs = (
            await c.get(f"{API}/jobs", params={"document_id": document_id}, headers=headers)
        ).json()
        assert jobs["total"] == 1


async def test_live_job_events_carry_the_matter_the_document_moved_to(
    make_settings: SettingsFactory, tenant: Tenant
) -> None:
    from lexbase.jobs.execution import JobExecutor
    from lexbase.tasks import task_registry

    app = create_app(make_settings(embedded_workers=0))
    async with running(app) as c:
        matter_id = await walled_matter(c, tenant)
        accepted = await upload(c, tenant["paralegal"].headers, MEMO, "memo.txt")
        resources = app.state.resources
        executor = JobExecutor(resources, task_registry())
        job = await executor.claim(accepted["job_id"])
        assert job is not None and job.matter_id is None
        # The document goes behind the wall while its job is running.
        moved = await c.patch(
            f"{API}/documents/{accepted['document']['id']}",
            json={"matter_id": matter_id},
            headers=tenant["attorney"].headers,
        )
        assert moved.status_code == 200, moved.text
        seen: list[Any] = []

        async def listen() -> None:
            async for event in resources.events.subscribe(tenant.organization_id):
                if event.type == "job.progress":
                    seen.append(event)

        listener = asyncio.create_task(listen())
        await asyncio.sleep(0.05)
        await executor.execute(job)
        await asyncio.sleep(0.1)
        listener.cancel()
        assert seen, "the job announced nothing"
        assert {event.matter_id for event in seen} == {matter_id}
