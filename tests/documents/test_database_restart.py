"""A database restart during a bulk ingest loses no accepted upload and leaves no job stuck."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from lexbase.app import create_app
from tests.conftest import SettingsFactory, running
from tests.documents.helpers import OPINIONS, upload, wait_done
from tests.factories import Tenant
from tests.support.services import PostgresServer


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_postgres_restart_mid_ingest(
    make_settings: SettingsFactory, tenant: Tenant, postgres_server: PostgresServer
) -> None:
    server = postgres_server
    settings = make_settings(job_lease_seconds=3, job_retry_base_seconds=0.2, job_poll_seconds=0.2)
    async with running(create_app(settings)) as c:
        headers = tenant["paralegal"].headers
        accepted = [
            await upload(c, headers, path.read_bytes(), path.name)
            for path in sorted(OPINIONS.glob("*.txt"))[:12]
        ]
        queued = (await c.get("/api/v1/jobs?status=queued", headers=headers)).json()["total"]
        assert queued > 0, "the restart must happen while work is outstanding"
        await asyncio.to_thread(server.restart)
        documents = [await _settle(c, headers, a["document"]["id"]) for a in accepted]
    assert [d["status"] for d in documents] == ["indexed"] * len(accepted)


async def _settle(
    c: httpx.AsyncClient, headers: dict[str, str], document_id: str
) -> dict[str, object]:
    # Requests right after the restart may meet closed pooled connections; the client retries.
    last: Exception | None = None
    for _ in range(20):
        try:
            return await wait_done(c, headers, document_id, limit=120)
        except (KeyError, httpx.HTTPError) as exc:
            last = exc
            await asyncio.sleep(0.5)
    raise AssertionError(f"document {document_id} never settled: {last!r}")
