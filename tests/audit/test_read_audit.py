"""Who read what: document reads land in the audit trail (batched), and the request id a
client sends is kept apart from the server's own."""

from __future__ import annotations

import re
from typing import Any

import httpx
from fastapi import FastAPI

from lexbase.app import create_app
from tests.conftest import SettingsFactory, running
from tests.documents.helpers import upload, wait_done
from tests.factories import Tenant
from tests.matters.helpers import create_matter

API = "/api/v1"
SERVER_ID = re.compile(r"[0-9a-f]{32}")


async def events(c: httpx.AsyncClient, tenant: Tenant, **params: Any) -> list[dict[str, Any]]:
    response = await c.get(
        f"{API}/audit/events", params={"limit": 100, **params}, headers=tenant.admin.headers
    )
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


async def flush(app: FastAPI) -> None:
    await app.state.read_audit.flush()


async def test_reads_are_audited_per_user_document_and_kind(
    make_settings: SettingsFactory, tenant: Tenant
) -> None:
    app = create_app(make_settings())
    async with running(app) as c:
        accepted = await upload(c, tenant["paralegal"].headers, b"A memo to read.\n", "m.txt")
        document_id = accepted["document"]["id"]
        await wait_done(c, tenant["paralegal"].headers, document_id)
        await flush(app)  # the polling above read the document too; start afresh
        before = {e["id"] for e in await events(c, tenant, event_type="document.read")}
        viewer = {**tenant["viewer"].headers, "X-Request-ID": "client-trace-1"}
        for suffix in ("/text", "/text", "/file", "", "/chunks", "/citations"):
            response = await c.get(f"{API}/documents/{document_id}{suffix}", headers=viewer)
            assert response.status_code == 200, response.text
            assert response.headers["X-Request-ID"] == "client-trace-1"
        await flush(app)
        reads = [
            e for e in await events(c, tenant, event_type="document.read") if e["id"] not in before
        ]
        verified = (await c.get(f"{API}/audit/verify", headers=tenant.admin.headers)).json()
    counts: dict[str, int] = {}
    for event in reads:  # a periodic flush may split one kind's reads over two events
        what = event["details"]["what"]
        counts[what] = counts.get(what, 0) + event["details"]["count"]
    assert counts == {"text": 2, "file": 1, "document": 1, "chunks": 1, "citations": 1}
    for event in reads:
        assert event["actor_id"] == tenant["viewer"].id
        assert event["resource_id"] == document_id
        assert event["details"]["client_request_ids"] == ["client-trace-1"]
        assert all(SERVER_ID.fullmatch(i) for i in event["details"]["request_ids"])
    assert verified["valid"] is True


async def test_refused_reads_are_not_recorded_as_reads(
    make_settings: SettingsFactory, tenant: Tenant
) -> None:
    app = create_app(make_settings(embedded_workers=0))
    async with running(app) as c:
        matter = await create_matter(c, tenant["attorney"], name="Walled", restricted=True)
        accepted = await upload(
            c, tenant["attorney"].headers, b"Walled memo.\n", "w.txt", matter_id=matter["id"]
        )
        hidden = await c.get(
            f"{API}/documents/{accepted['document']['id']}/file",
            headers=tenant["viewer"].headers,
        )
        assert hidden.status_code == 404
        await flush(app)
        reads = await events(c, tenant, event_type="document.read")
    assert [e["actor_id"] for e in reads] == []


async def test_client_request_id_is_kept_apart_from_the_servers(
    make_settings: SettingsFactory, tenant: Tenant
) -> None:
    async with running(create_app(make_settings(embedded_workers=0))) as c:
        headers = {**tenant["paralegal"].headers, "X-Request-ID": "their-id-42"}
        accepted = await upload(c, headers, b"Traced upload.\n", "t.txt")
        [uploaded] = await events(
            c, tenant, event_type="document.uploaded", resource_id=accepted["document"]["id"]
        )
    assert SERVER_ID.fullmatch(uploaded["request_id"])
    assert uploaded["details"]["client_request_id"] == "their-id-42"
