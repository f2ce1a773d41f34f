"""Long analyses run as jobs: 202 with the job's id, progress on the WebSocket, the result
stored and then answered by asking again (or at GET .../analysis). A job runs as its
requester stands when it runs: demoted, signed out, a revoked key or a document moved behind
a wall, and it fails with a fixed reason — no model asked, nothing stored."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from websockets.asyncio.client import connect

from lexbase.app import create_app
from lexbase.core.config import Settings
from lexbase.jobs.execution import JobExecutor
from lexbase.tasks import task_registry
from tests.chat.test_conversations import indexed, usage_events
from tests.conftest import SettingsFactory, running
from tests.documents.helpers import upload
from tests.factories import Tenant
from tests.ingest.hostile import text_pdf
from tests.intelligence.test_analysis_api import API, OPINION, held_out_contracts
from tests.intelligence.test_model_fields import hosted, job_outcome
from tests.matters.helpers import create_matter
from tests.realtime.test_websocket import live_server
from tests.support.replay import Replay, replay_server

HOLDING = json.dumps({"sentence": 4, "value": "The complaint states a claim"})


@pytest.fixture
async def replay() -> AsyncIterator[tuple[Replay, str]]:
    async with replay_server() as server:
        yield server


async def test_a_long_summary_is_a_job_followed_on_the_websocket(
    make_settings: SettingsFactory, tenant: Tenant, replay: tuple[Replay, str]
) -> None:
    server, base = replay
    [(name, data, spans)] = held_out_contracts(1)
    # The model "summarizes" with the contract's governing-law clause: a supported sentence.
    start, end = spans[0]
    server.answer = " ".join(data.decode()[start:end].split())
    server.delay = 0.05  # each model call takes a moment: the job is still pending when asked
    headers = tenant["attorney"].headers
    settings = hosted(make_settings, base, llm_anthropic_context_window=1024)
    async with (
        live_server(lambda: settings) as host,
        httpx.AsyncClient(base_url=f"http://{host}") as c,
    ):
        accepted = await upload(c, headers, data, name)
        document_id = accepted["document"]["id"]
        socket = await connect(f"ws://{host}{API}/ws?token={tenant['attorney'].access_token}")
        url = f"{API}/documents/{document_id}/summary"
        await job_outcome(c, headers, accepted["job_id"])
        queued = await c.post(url, json={"method": "abstractive"}, headers=headers)
        assert queued.status_code == 202, queued.text
        job = queued.json()
        assert (job["document_id"], job["operation"]) == (document_id, "summary")
        # Asked again while it is pending: the same job, not a second one.
        repeat = await c.post(url, json={"method": "abstractive"}, headers=headers)
        assert (repeat.status_code, repeat.json()["job_id"]) == (202, job["job_id"])
        events = []
        async with asyncio.timeout(60):
            while True:
                message = json.loads(await socket.recv())
                if message["type"] == "job.progress" and message["data"]["job_id"] == job["job_id"]:
                    events.append(message["data"])
                    if message["data"]["status"] in ("succeeded", "failed"):
                        break
        await socket.close()
        done = await job_outcome(c, headers, job["job_id"])
        answered = await c.post(url, json={"method": "abstractive"}, headers=headers)
        text = (await c.get(f"{API}/documents/{document_id}/text", headers=headers)).text
    assert done["status"] == "succeeded", done
    assert done["type"] == "analyze_document" and done["document_id"] == document_id
    assert done["result"]["operation"] == "summary" and done["result"]["key_points"] >= 1
    # Progress rose call by call to the end, announced to the requester's organization.
    stages = [e["stage"] for e in events]
    assert stages[-1] == "done" and stages.count("summarize") >= 4
    fractions = [e["progress"] for e in events if e["stage"] == "summarize"]
    assert fractions == sorted(fractions) and fractions[-1] <= 0.9
    # Asked once more when done: the stored result, every key point quoting the text.
    assert answered.status_code == 200, answered.text
    summary = answered.json()
    assert summary["cached"] is True and summary["key_points"]
    for point in summary["key_points"]:
        [source] = point["sources"]
        assert text[source["start"] : source["end"]] == source["quote"]
    # Every model call the job made is a usage event of the requester.
    calls = len(server.requests)
    assert calls >= 5 and len(await usage_events(settings)) == calls


async def test_short_work_still_answers_inline_and_the_limits_are_settings(
    make_settings: SettingsFactory, tenant: Tenant, replay: tuple[Replay, str]
) -> None:
    server, base = replay
    server.answer = HOLDING
    headers = tenant["attorney"].headers
    inline = hosted(make_settings, base, analysis_model_fields="on")
    async with running(create_app(inline)) as c:
        document_id = await indexed_opinion(c, headers)
        analysis = await c.post(f"{API}/documents/{document_id}/analysis", headers=headers)
        assert analysis.status_code == 200, analysis.text
        assert analysis.json()["fields"]["holding"]["value"] == "The complaint states a claim"
    # One page over the page limit: a job, even with no model call to make.
    by_pages = make_settings(analysis_inline_max_pages=1)
    async with running(create_app(by_pages)) as c:
        document_id = await indexed_opinion(c, headers, pages=2)
        queued = await c.post(
            f"{API}/documents/{document_id}/summary", json={"length": "short"}, headers=headers
        )
        assert queued.status_code == 202, queued.text
        done = await job_outcome(c, headers, queued.json()["job_id"])
        assert done["status"] == "succeeded", done
        answered = await c.post(
            f"{API}/documents/{document_id}/summary", json={"length": "short"}, headers=headers
        )
        assert answered.status_code == 200 and answered.json()["cached"] is True


async def indexed_opinion(c: httpx.AsyncClient, headers: dict[str, str], pages: int = 1) -> str:
    if pages == 1:
        return await indexed(c, headers, OPINION, "doe-v-acme.txt")
    lines = [line for line in OPINION.decode().splitlines() if line.strip()]
    per_page = -(-len(lines) // pages)
    pdf = text_pdf([lines[i : i + per_page] for i in range(0, len(lines), per_page)])
    return await indexed(c, headers, pdf, "doe-v-acme.pdf")


async def run_job(app: FastAPI, job_id: str) -> None:
    """Run one job now, as a runner would (the app's own runner is off)."""
    executor = JobExecutor(app.state.resources, task_registry(app.state.intelligence))
    job = await executor.claim(job_id)
    assert job is not None, "the job was not queued"
    await executor.execute(job)


async def test_a_job_runs_as_its_requester_stands_when_it_runs(
    make_settings: SettingsFactory,
    tenant: Tenant,
    other_tenant: Tenant,
    replay: tuple[Replay, str],
) -> None:
    server, base = replay
    server.answer = HOLDING
    settings: Settings = hosted(
        make_settings,
        base,
        analysis_model_fields="on",
        analysis_inline_model_calls=0,
        embedded_workers=0,
    )
    attorney, paralegal = tenant["attorney"], tenant["paralegal"]
    app = create_app(settings)
    async with running(app) as c:
        uploaded = await upload(c, attorney.headers, OPINION, "doe-v-acme.txt")
        await run_job(app, uploaded["job_id"])
        document_id = uploaded["document"]["id"]
        analysis_url = f"{API}/documents/{document_id}/analysis"

        async def queue(headers: dict[str, str], path: str = "analysis", **body: Any) -> str:
            response = await c.post(
                f"{API}/documents/{document_id}/{path}", json=body, headers=headers
            )
            assert response.status_code == 202, response.text
            return str(response.json()["job_id"])

        async def failed_with(job_id: str, code: str) -> None:
            await run_job(app, job_id)
            job = (await c.get(f"{API}/jobs/{job_id}", headers=attorney.headers)).json()
            assert (job["status"], job["error_code"]) == ("failed", code), job

        # Demoted to viewer before the job runs.
        demoted = await queue(paralegal.headers)
        changed = await c.patch(
            f"{API}/users/{paralegal.id}", json={"role": "viewer"}, headers=tenant.admin.headers
        )
        assert changed.status_code == 200, changed.text
        await failed_with(demoted, "requester_unauthorized")
        await c.patch(
            f"{API}/users/{paralegal.id}", json={"role": "paralegal"}, headers=tenant.admin.headers
        )
        # The document moved behind a wall the requester is outside.
        walled = await queue(paralegal.headers, analysis_type="case")
        matter = await create_matter(c, attorney, name="Sealed", restricted=True)
        moved = await c.patch(
            f"{API}/documents/{document_id}",
            json={"matter_id": matter["id"]},
            headers=attorney.headers,
        )
        assert moved.status_code == 200, moved.text
        await failed_with(walled, "document_unavailable")
        # An API key revoked after it asked.
        created = await c.post(f"{API}/api-keys", json={"name": "batch"}, headers=attorney.headers)
        key = created.json()
        revoked = await queue({"X-API-Key": key["key"]}, analysis_type="case")
        gone = await c.delete(f"{API}/api-keys/{key['id']}", headers=attorney.headers)
        assert gone.status_code == 204
        await failed_with(revoked, "requester_unauthorized")
        # Another firm sees neither the job nor its outcome.
        foreign = await c.get(f"{API}/jobs/{revoked}", headers=other_tenant.admin.headers)
        assert foreign.status_code == 404
        # None of them asked the model or stored anything.
        assert server.requests == []
        assert (await c.get(analysis_url, headers=attorney.headers)).status_code == 404
        # The requester as they were, still: the job runs and the analysis is stored.
        kept = await queue(attorney.headers, analysis_type="case")
        await run_job(app, kept)
        latest = await c.get(analysis_url, headers=attorney.headers)
        assert latest.status_code == 200, latest.text
        assert latest.json()["fields"]["holding"]["value"] == "The complaint states a claim"
        assert len(server.requests) == 1
        # Signed out after asking: the job does not outlive the session.
        signed_out = await queue(attorney.headers, "summary", method="abstractive")
        assert (await c.post(f"{API}/auth/logout", headers=attorney.headers)).status_code == 204
        await failed_with_admin(c, app, tenant, signed_out)


async def failed_with_admin(
    c: httpx.AsyncClient, app: FastAPI, tenant: Tenant, job_id: str
) -> None:
    await run_job(app, job_id)
    job = (await c.get(f"{API}/jobs/{job_id}", headers=tenant.admin.headers)).json()
    assert (job["status"], job["error_code"]) == ("failed", "requester_unauthorized"), job


async def test_the_clause_grid_queues_the_analyses_that_would_ask_a_model(
    make_settings: SettingsFactory, tenant: Tenant, replay: tuple[Replay, str]
) -> None:
    server, base = replay
    server.answer = json.dumps({"sentence": None, "value": None})
    # A contract whose liability cap the rules leave to a model: its analysis asks one.
    name, data, _ = held_out_contracts(8)[7]
    assert name.startswith("BELLRINGBRANDS")
    headers = tenant["attorney"].headers
    settings = hosted(make_settings, base, analysis_model_fields="on")
    async with running(create_app(settings)) as c:
        document_id = await indexed(c, headers, data, name)
        body = {"document_ids": [document_id], "categories": ["Governing Law"]}
        first = await c.post(f"{API}/analysis/contracts", json=body, headers=headers)
        assert first.status_code == 200, first.text
        [row] = first.json()["documents"]
        assert row["clauses"] == [] and row["job_id"]
        done = await job_outcome(c, headers, row["job_id"])
        assert done["status"] == "succeeded", done
        second = await c.post(f"{API}/analysis/contracts", json=body, headers=headers)
    [row] = second.json()["documents"]
    assert row["job_id"] is None
    [clause] = row["clauses"]
    assert clause["category"] == "Governing Law" and clause["sources"]
    assert server.requests, "the job asked the model for the contract's fields"
    [(_, _, asked)] = server.requests
    assert "liability" in asked["messages"][0]["content"].lower()
