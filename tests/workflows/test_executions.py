"""Workflows through HTTP: built-in templates run over uploaded documents to a report whose
citations verify against `/text`; a review step pauses until someone of the right role
decides; cancel, bad input and other people's executions are refused; a requester demoted
mid-run stops it, and a retry resumes at the failed step without redoing the others."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import time
from typing import Any

import httpx
import pytest
from docx import Document as DocxDocument
from fastapi import FastAPI
from websockets.asyncio.client import connect

from lexbase.app import create_app
from lexbase.jobs.execution import JobExecutor
from lexbase.jobs.registry import JobContext
from lexbase.tasks import task_registry
from lexbase.workflows.tasks import RunWorkflow
from tests.api.test_envelope import assert_envelope
from tests.chat.test_conversations import indexed
from tests.conftest import SettingsFactory, running
from tests.documents.helpers import upload
from tests.factories import Tenant
from tests.intelligence.test_analysis_api import API, OPINION, held_out_contracts
from tests.intelligence.test_model_fields import hosted
from tests.matters.helpers import create_matter
from tests.realtime.test_websocket import live_server
from tests.support.replay import replay_server

EXECUTIONS = f"{API}/workflows/executions"


async def start(
    c: httpx.AsyncClient, headers: dict[str, str], template_id: str, **inputs: Any
) -> dict[str, Any]:
    response = await c.post(
        EXECUTIONS, json={"template_id": template_id, "input": inputs}, headers=headers
    )
    assert response.status_code == 202, response.text
    return dict(response.json())


async def settled(
    c: httpx.AsyncClient, headers: dict[str, str], execution_id: str, limit: float = 90.0
) -> dict[str, Any]:
    """The execution once it stops moving (finished, or waiting for a review)."""
    async with asyncio.timeout(limit):
        while True:
            execution = (await c.get(f"{EXECUTIONS}/{execution_id}", headers=headers)).json()
            if execution["status"] in ("completed", "failed", "cancelled", "waiting_review"):
                return dict(execution)
            await asyncio.sleep(0.1)


async def assert_report_verifies(
    c: httpx.AsyncClient, headers: dict[str, str], report: dict[str, Any]
) -> None:
    assert report["citations"], "a report with nothing cited"
    texts: dict[str, str] = {}
    for n, citation in enumerate(report["citations"], 1):
        document_id = citation["document_id"]
        if document_id not in texts:
            texts[document_id] = (
                await c.get(f"{API}/documents/{document_id}/text", headers=headers)
            ).text
        assert texts[document_id][citation["start"] : citation["end"]] == citation["quote"]
        assert f"[{n}]" in report["markdown"]


async def test_a_case_brief_runs_to_a_report_whose_citations_verify(
    make_settings: SettingsFactory, tenant: Tenant, other_tenant: Tenant
) -> None:
    attorney = tenant["attorney"]
    async with running(create_app(make_settings())) as c:
        document_id = await indexed(c, attorney.headers, OPINION, "doe-v-acme.txt")
        queued = await start(c, attorney.headers, "builtin:case-brief", document_id=document_id)
        assert queued["status"] == "queued"
        assert [s["name"] for s in queued["steps"]] == ["analysis", "summary", "report"]
        done = await settled(c, attorney.headers, queued["id"])
        assert done["status"] == "completed", done
        assert done["progress"] == 1.0
        assert all(s["status"] == "succeeded" and s["attempts"] == 1 for s in done["steps"])
        analysis = done["steps"][0]["output"]
        assert analysis["fields"]["court"]["value"]
        assert {p["name"] for p in analysis["parties"]} >= {"JANE DOE", "ACME CORPORATION"}
        report = done["report"]
        assert report["markdown"].startswith("# Case brief")
        assert "JANE DOE" in report["markdown"]
        await assert_report_verifies(c, attorney.headers, report)
        url = f"{EXECUTIONS}/{queued['id']}/report"
        markdown = await c.get(url, headers=attorney.headers)
        assert markdown.headers["content-type"].startswith("text/markdown")
        assert markdown.text == report["markdown"]
        word = await c.get(url, params={"format": "docx"}, headers=attorney.headers)
        assert word.status_code == 200, word.text
        paragraphs = [p.text for p in DocxDocument(io.BytesIO(word.content)).paragraphs]
        assert paragraphs[0] == "Case brief"
        written = "\n".join(paragraphs)
        for citation in report["citations"]:
            assert " ".join(citation["quote"].split()) in written
        # Someone else's execution is not there: another firm, or a colleague.
        for outsider in (other_tenant.admin.headers, tenant["paralegal"].headers):
            hidden = await c.get(f"{EXECUTIONS}/{queued['id']}", headers=outsider)
            assert_envelope(hidden, 404, "not_found")
        listed = (await c.get(EXECUTIONS, headers=tenant["paralegal"].headers)).json()
        assert listed["total"] == 0
        # The organization's admin sees it; a finished execution cannot be cancelled.
        seen = await c.get(f"{EXECUTIONS}/{queued['id']}", headers=tenant.admin.headers)
        assert seen.status_code == 200
        late = await c.post(f"{EXECUTIONS}/{queued['id']}/cancel", headers=attorney.headers)
        assert_envelope(late, 409, "execution_finished")


async def test_a_review_step_waits_for_a_reviewer_of_the_right_role(
    make_settings: SettingsFactory, tenant: Tenant
) -> None:
    [(name, data, _)] = held_out_contracts(1)
    paralegal, attorney = tenant["paralegal"], tenant["attorney"]
    async with running(create_app(make_settings())) as c:
        document_id = await indexed(c, paralegal.headers, data, name)
        queued = await start(
            c, paralegal.headers, "builtin:contract-review", document_ids=[document_id]
        )
        waiting = await settled(c, paralegal.headers, queued["id"])
        assert waiting["status"] == "waiting_review", waiting
        statuses = {s["name"]: s["status"] for s in waiting["steps"]}
        assert statuses == {
            "contracts": "succeeded",
            "approval": "waiting_review",
            "memo": "pending",
        }
        # An attorney who did not start it finds it, to decide; a viewer does not.
        seen = await c.get(f"{EXECUTIONS}/{queued['id']}", headers=attorney.headers)
        assert seen.status_code == 200 and seen.json()["steps"][0]["output"]["items"]
        waiting = await c.get(
            EXECUTIONS, params={"status": "waiting_review"}, headers=attorney.headers
        )
        assert [e["id"] for e in waiting.json()["items"]] == [queued["id"]]
        hidden = await c.get(f"{EXECUTIONS}/{queued['id']}", headers=tenant["viewer"].headers)
        assert_envelope(hidden, 404, "not_found")
        review = f"{EXECUTIONS}/{queued['id']}/review"
        # A paralegal may not approve what asks for an attorney.
        refused = await c.post(review, json={"approve": True}, headers=paralegal.headers)
        assert refused.status_code == 403, refused.text
        approved = await c.post(
            review, json={"approve": True, "comment": "Clauses checked"}, headers=attorney.headers
        )
        assert approved.status_code == 200, approved.text
        done = await settled(c, paralegal.headers, queued["id"])
        assert done["status"] == "completed", done
        [approval] = [s for s in done["steps"] if s["name"] == "approval"]
        assert approval["review"]["approve"] is True
        assert approval["review"]["user_id"] == attorney.id
        memo = done["report"]
        assert memo["markdown"].startswith("# Contract review")
        assert "Governing Law" in memo["markdown"]
        await assert_report_verifies(c, paralegal.headers, memo)
        again = await c.post(review, json={"approve": True}, headers=attorney.headers)
        assert_envelope(again, 409, "not_waiting_for_review")
        # Decided, it is the paralegal's again alone.
        gone = await c.get(f"{EXECUTIONS}/{queued['id']}", headers=attorney.headers)
        assert_envelope(gone, 404, "not_found")


async def test_bad_templates_and_bad_input_are_refused_by_name(
    make_settings: SettingsFactory, tenant: Tenant, other_tenant: Tenant
) -> None:
    attorney = tenant["attorney"]
    async with running(create_app(make_settings())) as c:
        document_id = await indexed(c, attorney.headers, OPINION, "doe-v-acme.txt")
        unknown = await c.post(
            EXECUTIONS, json={"template_id": "builtin:nope", "input": {}}, headers=attorney.headers
        )
        assert_envelope(unknown, 404, "not_found")
        for inputs, field in (
            ({}, "document_id"),
            ({"document_id": document_id, "extra": 1}, "extra"),
            ({"document_id": "0" * 36}, "document_id"),
        ):
            refused = await c.post(
                EXECUTIONS,
                json={"template_id": "builtin:case-brief", "input": inputs},
                headers=attorney.headers,
            )
            error = assert_envelope(refused, 422, "validation_error")
            assert error["details"][0]["loc"] == ["body", "input", field], error
        # Another firm's document is not visible input.
        foreign = await c.post(
            EXECUTIONS,
            json={"template_id": "builtin:case-brief", "input": {"document_id": document_id}},
            headers=other_tenant.admin.headers,
        )
        assert_envelope(foreign, 422, "validation_error")
        # A definition wired to an input it does not declare names the step and field.
        bad = {
            "name": "Brief",
            "category": "litigation",
            "definition": {
                "inputs": {"document_id": {"type": "document"}},
                "steps": [{"name": "facts", "type": "analyze", "document": "$input.opinion"}],
            },
        }
        refused = await c.post(f"{API}/workflows/templates", json=bad, headers=tenant.admin.headers)
        error = assert_envelope(refused, 422, "validation_error")
        assert "steps.0 (facts).document" in str(error["details"])
        good = bad | {
            "definition": {
                "inputs": {"opinion": {"type": "document"}},
                "steps": [
                    {"name": "facts", "type": "analyze", "document": "$input.opinion"},
                    {
                        "name": "brief",
                        "type": "report",
                        "title": "Facts",
                        "sections": [{"heading": "Facts", "source": "$steps.facts"}],
                    },
                ],
            }
        }
        made = await c.post(f"{API}/workflows/templates", json=good, headers=tenant.admin.headers)
        assert made.status_code == 201, made.text
        template = made.json()
        listed = (await c.get(f"{API}/workflows/templates", headers=attorney.headers)).json()
        assert template["id"] in {t["id"] for t in listed}
        assert "builtin:case-brief" in {t["id"] for t in listed}
        theirs = await c.get(
            f"{API}/workflows/templates/{template['id']}", headers=other_tenant.admin.headers
        )
        assert_envelope(theirs, 404, "not_found")
        categories = (await c.get(f"{API}/workflows/categories", headers=attorney.headers)).json()
        assert categories["categories"] == ["litigation", "transactional"]
        schema = (await c.get(f"{API}/workflows/schema", headers=attorney.headers)).json()
        assert "steps" in schema["properties"]
        # The organization's own template runs like a built-in one.
        queued = await start(c, attorney.headers, template["id"], opinion=document_id)
        done = await settled(c, attorney.headers, queued["id"])
        assert done["status"] == "completed", done
        await assert_report_verifies(c, attorney.headers, done["report"])


async def run_job(app: FastAPI, job_id: str) -> None:
    executor = JobExecutor(app.state.resources, task_registry(app.state.intelligence))
    job = await executor.claim(job_id)
    assert job is not None, "the job was not queued"
    await executor.execute(job)


async def test_a_requester_demoted_mid_run_stops_it_and_a_retry_resumes(
    make_settings: SettingsFactory, tenant: Tenant
) -> None:
    """The scope is checked before every step: the analysis runs, the demotion lands, the
    summary fails; promoted back, a retry runs the summary and the report only."""
    paralegal = tenant["paralegal"]
    app = create_app(make_settings(embedded_workers=0))
    async with running(app) as c:
        uploaded = await upload(c, paralegal.headers, OPINION, "doe-v-acme.txt")
        await run_job(app, uploaded["job_id"])
        document_id = uploaded["document"]["id"]
        queued = await start(c, paralegal.headers, "builtin:case-brief", document_id=document_id)
        jobs = (
            await c.get(f"{API}/jobs", params={"type": "run_workflow"}, headers=paralegal.headers)
        ).json()
        [job] = jobs["items"]
        # The job's first round, run by hand: the analysis runs (its outcome is recorded
        # in the transaction that starts the next step).
        handler = RunWorkflow()
        executor = JobExecutor(app.state.resources, task_registry(app.state.intelligence))
        claimed = await executor.claim(job["id"])
        assert claimed is not None

        async def progress(stage: str, fraction: float) -> None:
            return None

        context = JobContext(claimed, app.state.resources, progress)
        analysed = await handler.advance(context, queued["id"], None)
        assert analysed is not None
        first = (await c.get(f"{EXECUTIONS}/{queued['id']}", headers=paralegal.headers)).json()
        assert [s["status"] for s in first["steps"]] == ["running", "pending", "pending"]
        demoted = await c.patch(
            f"{API}/users/{paralegal.id}", json={"role": "viewer"}, headers=tenant.admin.headers
        )
        assert demoted.status_code == 200
        # The next round records the analysis, re-reads the requester: the summary fails.
        assert await handler.advance(context, queued["id"], analysed) is None
        await executor.execute(claimed)  # the job itself ends (nothing left to run)
        failed = (await c.get(f"{EXECUTIONS}/{queued['id']}", headers=tenant.admin.headers)).json()
        assert (failed["status"], failed["error_code"]) == ("failed", "requester_unauthorized")
        assert [s["status"] for s in failed["steps"]] == ["succeeded", "failed", "pending"]
        assert failed["steps"][0]["output"] == analysed.output  # kept
        assert failed["steps"][1]["attempts"] == 0  # never started
        await c.patch(
            f"{API}/users/{paralegal.id}", json={"role": "paralegal"}, headers=tenant.admin.headers
        )
        retried = await c.post(
            f"{EXECUTIONS}/{queued['id']}/steps/summary/retry", headers=paralegal.headers
        )
        assert retried.status_code == 200, retried.text
        assert retried.json()["status"] == "queued"
        jobs = (
            await c.get(
                f"{API}/jobs",
                params={"type": "run_workflow", "status": "queued"},
                headers=paralegal.headers,
            )
        ).json()
        [again] = jobs["items"]
        await run_job(app, again["id"])
        done = (await c.get(f"{EXECUTIONS}/{queued['id']}", headers=paralegal.headers)).json()
        assert done["status"] == "completed", done
        analysis, summary, _ = done["steps"]
        assert (
            analysis["attempts"] == 1 and analysis["started_at"] == first["steps"][0]["started_at"]
        )
        assert summary["status"] == "succeeded" and summary["attempts"] == 1
        await assert_report_verifies(c, paralegal.headers, done["report"])


async def test_runs_and_their_cost_are_reported_per_template(
    make_settings: SettingsFactory, tenant: Tenant
) -> None:
    """The model call an analysis step makes is the execution's cost, reported with its
    template's runs, outcome and duration; the run counts in the requester's usage."""
    attorney = tenant["attorney"]
    price = (3.0, 15.0)
    async with replay_server() as (server, base):
        server.answer = json.dumps({"sentence": 4, "value": "The complaint states a claim"})
        settings = hosted(
            make_settings,
            base,
            analysis_model_fields="on",
            llm_prices={"claude-sonnet-5": price},
        )
        async with running(create_app(settings)) as c:
            document_id = await indexed(c, attorney.headers, OPINION, "doe-v-acme.txt")
            queued = await start(c, attorney.headers, "builtin:case-brief", document_id=document_id)
            done = await settled(c, attorney.headers, queued["id"])
            assert done["status"] == "completed", done
            assert "The complaint states a claim" in done["report"]["markdown"]
            report = (await c.get(f"{API}/analytics/workflows", headers=attorney.headers)).json()
            usage = (await c.get(f"{API}/analytics/usage", headers=attorney.headers)).json()
            theirs = (
                await c.get(f"{API}/analytics/workflows", headers=tenant["paralegal"].headers)
            ).json()
    calls = len(server.requests)
    assert calls >= 1
    [brief] = report["templates"]
    assert (brief["template_id"], brief["runs"], brief["completed"]) == (
        "builtin:case-brief",
        1,
        1,
    )
    assert brief["success_rate"] == 1.0 and brief["mean_duration_seconds"] > 0
    assert brief["estimated_cost"] == pytest.approx(calls * (412 * 3.0 + 14 * 15.0) / 1e6)
    assert usage["workflow_runs"] == 1 and usage["model_calls"] == calls
    assert theirs["templates"] == []  # a colleague's runs are theirs


async def test_a_generate_step_cites_only_what_its_sources_support(
    make_settings: SettingsFactory, tenant: Tenant
) -> None:
    """The model writes from the earlier steps' quotes; the sentence a quote supports is
    cited (its quote exact at its offsets), the invented one is marked unsupported."""
    attorney = tenant["attorney"]
    definition = {
        "inputs": {"opinion": {"type": "document"}},
        "steps": [
            {"name": "analysis", "type": "analyze", "document": "$input.opinion"},
            {"name": "summary", "type": "summarize", "document": "$input.opinion"},
            {
                "name": "memo",
                "type": "generate",
                "instruction": "Write a two-sentence note on the outcome for the client.",
                "sources": ["$steps.analysis", "$steps.summary"],
            },
            {
                "name": "report",
                "type": "report",
                "title": "Client note",
                "sections": [{"heading": "Outcome", "source": "$steps.memo"}],
            },
        ],
    }
    async with replay_server() as (server, base):
        server.answer = (
            "The district court dismissed the complaint [1]. "
            "The parties settled for ten million dollars in gold [2]."
        )
        async with running(create_app(hosted(make_settings, base))) as c:
            document_id = await indexed(c, attorney.headers, OPINION, "doe-v-acme.txt")
            made = await c.post(
                f"{API}/workflows/templates",
                json={"name": "Client note", "category": "litigation", "definition": definition},
                headers=tenant.admin.headers,
            )
            assert made.status_code == 201, made.text
            queued = await start(c, attorney.headers, made.json()["id"], opinion=document_id)
            done = await settled(c, attorney.headers, queued["id"])
            assert done["status"] == "completed", done
            memo = done["steps"][2]["output"]
            await assert_report_verifies(c, attorney.headers, done["report"])
            text = (
                await c.get(f"{API}/documents/{document_id}/text", headers=attorney.headers)
            ).text
    [(_, _, body)] = [r for r in server.requests if "Instruction:" in str(r[2])]
    prompt = body["messages"][0]["content"]
    assert "[1] " in prompt and "two-sentence note" in prompt
    supported, invented = memo["sentences"]
    assert supported["status"] == "supported" and supported["markers"]
    assert invented["status"] == "unsupported" and invented["markers"] == []
    assert memo["grounded"] is False
    for citation in memo["citations"]:
        assert text[citation["start"] : citation["end"]] == citation["quote"]
    assert "not supported by the sources" in done["report"]["markdown"]


async def test_a_chronology_maps_over_filings_in_their_order(
    make_settings: SettingsFactory, tenant: Tenant
) -> None:
    attorney = tenant["attorney"]
    filings = [
        (b"ORDER\n\nOn March 3, 2022 the court heard the motion. The hearing ended.\n", "a.txt"),
        (OPINION, "doe-v-acme.txt"),
        (b"NOTICE\n\nThe answer was filed on January 5, 2021 by the defendant.\n", "c.txt"),
    ]
    async with running(create_app(make_settings())) as c:
        ids = [await indexed(c, attorney.headers, data, name) for data, name in filings]
        queued = await start(c, attorney.headers, "builtin:chronology", document_ids=ids)
        done = await settled(c, attorney.headers, queued["id"])
        assert done["status"] == "completed", done
        items = done["steps"][0]["output"]["items"]
        assert [item["item"] for item in items] == ids  # the input's order, whatever ran first
        await assert_report_verifies(c, attorney.headers, done["report"])
    lines = [line for line in done["report"]["markdown"].splitlines() if line.startswith("- 20")]
    dates = [line[2:12] for line in lines]
    assert dates == sorted(dates) and "2021-01-05" in dates and "2022-03-03" in dates


async def test_cancel_interrupts_a_running_model_call(
    make_settings: SettingsFactory, tenant: Tenant
) -> None:
    attorney = tenant["attorney"]
    definition = {
        "inputs": {"opinion": {"type": "document"}},
        "steps": [
            {
                "name": "summary",
                "type": "summarize",
                "document": "$input.opinion",
                "method": "abstractive",
            },
            {
                "name": "report",
                "type": "report",
                "title": "Summary",
                "sections": [{"heading": "Summary", "source": "$steps.summary"}],
            },
        ],
    }
    async with replay_server() as (server, base):
        server.delay = 30.0  # the model takes half a minute to answer
        settings = hosted(make_settings, base, job_poll_seconds=0.2)
        async with running(create_app(settings)) as c:
            document_id = await indexed(c, attorney.headers, OPINION, "doe-v-acme.txt")
            made = await c.post(
                f"{API}/workflows/templates",
                json={"name": "Summary", "category": "litigation", "definition": definition},
                headers=tenant.admin.headers,
            )
            queued = await start(c, attorney.headers, made.json()["id"], opinion=document_id)
            async with asyncio.timeout(30):
                while not server.requests:  # noqa: ASYNC110 - the model call is under way
                    await asyncio.sleep(0.05)
            asked = time.monotonic()
            response = await c.post(f"{EXECUTIONS}/{queued['id']}/cancel", headers=attorney.headers)
            assert response.status_code == 200, response.text
            assert response.json()["cancel_requested"] is True
            done = await settled(c, attorney.headers, queued["id"], limit=10)
            waited = time.monotonic() - asked
    assert done["status"] == "cancelled", done
    assert waited < 5, waited  # not the model's thirty seconds
    summary, report = done["steps"]
    assert (summary["status"], report["status"]) == ("cancelled", "pending")
    assert done["report"] is None


async def test_steps_are_announced_on_the_websocket_within_the_wall(
    make_settings: SettingsFactory, tenant: Tenant
) -> None:
    """`workflow.step` events follow an execution step by step to the requester; a
    colleague outside the wall of the matter its document is filed under hears nothing."""
    attorney = tenant["attorney"]
    async with (
        live_server(make_settings) as host,
        httpx.AsyncClient(base_url=f"http://{host}") as c,
    ):
        matter = await create_matter(c, attorney, name="Sealed", restricted=True)
        document_id = await indexed(
            c, attorney.headers, OPINION, "doe-v-acme.txt", matter_id=matter["id"]
        )
        member = await connect(f"ws://{host}{API}/ws?token={attorney.access_token}")
        outsider = await connect(f"ws://{host}{API}/ws?token={tenant['paralegal'].access_token}")
        await asyncio.sleep(0.2)
        queued = await start(c, attorney.headers, "builtin:case-brief", document_id=document_id)
        assert queued["matter_id"] == matter["id"]
        seen = []
        async with asyncio.timeout(60):
            while True:
                message = json.loads(await member.recv())
                if message["type"] == "workflow.step":
                    seen.append(message["data"])
                    if message["data"]["status"] == "completed":
                        break
        heard = []
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(0.5):
                while True:
                    heard.append(json.loads(await outsider.recv()))
        await member.close()
        await outsider.close()
    assert {e["execution_id"] for e in seen} == {queued["id"]}
    finished = [e["step"]["name"] for e in seen if e["step"] and e["step"]["status"] == "succeeded"]
    assert finished == ["analysis", "summary", "report"]
    assert seen[-1]["progress"] == 1.0
    assert not [m for m in heard if m["type"] == "workflow.step"]


async def test_a_matter_names_the_documents_a_template_runs_over(
    make_settings: SettingsFactory, tenant: Tenant
) -> None:
    [(name, data, _)] = held_out_contracts(1)
    attorney = tenant["attorney"]
    async with running(create_app(make_settings())) as c:
        matter = await create_matter(c, attorney, name="Acme supply")
        empty = await create_matter(c, attorney, name="Nothing yet")
        document_id = await indexed(c, attorney.headers, data, name, matter_id=matter["id"])
        await indexed(c, attorney.headers, OPINION, "elsewhere.txt")  # not in the matter
        queued = await start(
            c, attorney.headers, "builtin:clause-comparison", matter_id=matter["id"]
        )
        assert queued["input"]["document_ids"] == [document_id]
        assert queued["matter_id"] == matter["id"]
        done = await settled(c, attorney.headers, queued["id"])
        assert done["status"] == "completed", done
        assert f"Document {document_id}: present" in done["report"]["markdown"]
        for inputs, field in (({"matter_id": empty["id"]}, "matter_id"), ({}, "document_ids")):
            refused = await c.post(
                EXECUTIONS,
                json={"template_id": "builtin:clause-comparison", "input": inputs},
                headers=attorney.headers,
            )
            error = assert_envelope(refused, 422, "validation_error")
            assert error["details"][0]["loc"] == ["body", "input", field], error
