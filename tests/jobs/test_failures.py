"""A failed job tells its readers a stable code and a fixed sentence; what went wrong in
detail (an exception's type and text) reaches the logs only — never the jobs API, the
document, or the WebSocket."""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect

from lexbase.app import create_app
from lexbase.documents.tasks import INGEST_JOB, IngestDocument
from lexbase.jobs.registry import JobContext, TaskRegistry
from lexbase.tasks import task_registry
from tests.conftest import SettingsFactory, running
from tests.documents.helpers import upload, wait_done
from tests.factories import Tenant
from tests.ingest import hostile
from tests.realtime.test_websocket import collect, live_server

SECRET = "sk-live-4f9a7c2e1b8d-vault"
INTERNAL_ERROR = "Processing failed because of an internal error; retrying did not help"


class FailingDependency(IngestDocument):
    """The ingest job, whose storage fails with a message that quotes a credential."""

    async def run(self, context: JobContext) -> dict[str, Any] | None:
        await context.progress("extract", 0.1)
        raise RuntimeError(f"GET https://blobs.internal/?token={SECRET} refused")


@pytest.fixture
def failing_ingest() -> TaskRegistry:
    """Every job type as usual, but ingest fails as above."""
    return task_registry().with_handlers({INGEST_JOB: FailingDependency()})


async def read_job_and_document(
    c: httpx.AsyncClient, headers: dict[str, str], accepted: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    document = await wait_done(c, headers, accepted["document"]["id"])
    job = (await c.get(f"/api/v1/jobs/{accepted['job_id']}", headers=headers)).json()
    return job, document


def log_records(caplog: pytest.LogCaptureFixture, event: str) -> list[dict[str, Any]]:
    return [
        r.msg for r in caplog.records if isinstance(r.msg, dict) and r.msg.get("event") == event
    ]


async def test_an_unexpected_error_reaches_readers_as_a_fixed_message(
    make_settings: SettingsFactory,
    tenant: Tenant,
    caplog: pytest.LogCaptureFixture,
    failing_ingest: TaskRegistry,
) -> None:
    caplog.set_level(logging.INFO)
    headers = tenant["paralegal"].headers

    def settings(**overrides: Any) -> Any:
        return make_settings(job_retry_base_seconds=0, **overrides)

    async with live_server(settings, failing_ingest) as host:
        ws = await connect(f"ws://{host}/api/v1/ws?token={tenant['attorney'].access_token}")
        async with httpx.AsyncClient(base_url=f"http://{host}") as c:
            accepted = await upload(c, headers, b"Memorandum on discovery.\n", "memo.txt")
            events = await collect(ws, "failed")
            job, document = await read_job_and_document(c, headers, accepted)
            listing = (await c.get("/api/v1/jobs", headers=headers)).json()
        await ws.close()

    assert (job["status"], job["attempts"]) == ("failed", 3)
    assert (job["error_code"], job["error"]) == ("retries_exhausted", INTERNAL_ERROR)
    assert (document["status"], document["error_code"], document["error"]) == (
        "failed",
        "retries_exhausted",
        INTERNAL_ERROR,
    )
    failed = events[-1]["data"]
    assert (failed["document_id"], failed["error_code"], failed["error"]) == (
        accepted["document"]["id"],
        "retries_exhausted",
        INTERNAL_ERROR,
    )
    for seen in (job, document, listing, events):
        text = json.dumps(seen)
        assert SECRET not in text and "RuntimeError" not in text
    # The operator still learns what happened, from the logs.
    retries = [r for r in log_records(caplog, "job.retrying") if r["job_id"] == job["id"]]
    [failure] = [r for r in log_records(caplog, "job.failed") if r["job_id"] == job["id"]]
    assert len(retries) == 2
    assert (failure["code"], failure["error_type"]) == ("retries_exhausted", "RuntimeError")
    assert SECRET in failure["error"]


async def test_a_timeout_fails_as_timed_out(make_settings: SettingsFactory, tenant: Tenant) -> None:
    headers = tenant["paralegal"].headers
    settings = make_settings(job_retry_base_seconds=0, ingest_timeout_seconds=0.01)
    async with running(create_app(settings)) as c:
        accepted = await upload(c, headers, b"A short brief.\n", "brief.txt")
        job, document = await read_job_and_document(c, headers, accepted)
    expected = ("timed_out", "Processing took longer than the time allowed")
    assert (job["status"], job["attempts"]) == ("failed", 3)
    assert (job["error_code"], job["error"]) == expected
    assert (document["error_code"], document["error"]) == expected


async def test_a_damaged_file_fails_at_once_with_its_code_and_message(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    headers = tenant["paralegal"].headers
    accepted = await upload(client, headers, hostile.damaged_docx(), "damaged.docx")
    job, document = await read_job_and_document(client, headers, accepted)
    expected = ("corrupt_file", "The file is damaged and cannot be read")
    assert (job["status"], job["attempts"]) == ("failed", 1)
    assert (job["error_code"], job["error"]) == expected
    assert (document["status"], document["error_code"], document["error"]) == ("failed", *expected)
