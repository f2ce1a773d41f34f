"""Killed worker processes never lose an accepted document nor index it twice."""

from __future__ import annotations

import asyncio
import os
import signal
from typing import Any

import httpx
from fastapi import FastAPI

from lexbase.app import create_app
from lexbase.core.resources import Resources
from tests.conftest import SettingsFactory, running
from tests.documents.helpers import FILINGS, upload, wait_done
from tests.factories import Tenant


def _pool_children(resources: Resources) -> list[int]:
    executor: Any = resources.processes._executor
    if executor is None:
        return []
    return [p.pid for p in getattr(executor, "_processes", {}).values() if p.pid and p.is_alive()]


async def _kill_while_running(
    app: FastAPI, c: httpx.AsyncClient, headers: dict[str, str], job_id: str, kills: int
) -> int:
    resources: Resources = app.state.resources
    done = 0
    for _ in range(600):
        if done >= kills:
            break
        job = (await c.get(f"/api/v1/jobs/{job_id}", headers=headers)).json()
        children = _pool_children(resources)
        if job["status"] == "running" and job["stage"] == "extract" and children:
            for pid in children:
                os.kill(pid, signal.SIGKILL)
            done += 1
            await asyncio.sleep(0.3)
        await asyncio.sleep(0.02)
    return done


async def test_sigkilled_workers_still_index_exactly_once(
    make_settings: SettingsFactory, tenant: Tenant
) -> None:
    settings = make_settings(job_max_attempts=5, job_retry_base_seconds=0, job_poll_seconds=0.1)
    app = create_app(settings)
    async with running(app) as c:
        headers = tenant["paralegal"].headers
        data = (FILINGS / "vector-pdf.pdf").read_bytes()
        accepted = await upload(c, headers, data, "vector.pdf")
        kills = await _kill_while_running(app, c, headers, accepted["job_id"], kills=2)
        assert kills >= 1, "the worker process was never caught mid-document"
        document = await wait_done(c, headers, accepted["document"]["id"], limit=180)
        assert document["status"] == "indexed", document
        job = (await c.get(f"/api/v1/jobs/{accepted['job_id']}", headers=headers)).json()
        assert job["status"] == "succeeded"
        assert job["attempts"] == kills + 1
        chunks = (
            await c.get(f"/api/v1/documents/{document['id']}/chunks?limit=100", headers=headers)
        ).json()
        ordinals = [chunk["ordinal"] for chunk in chunks["items"]]
        assert ordinals == list(range(len(ordinals)))
        assert chunks["total"] == job["result"]["chunks"]


def _embedder_loaded() -> bool:
    from lexbase.providers.embedders import _build

    return _build.cache_info().currsize > 0


async def test_worker_processes_start_warm_with_the_service(
    make_settings: SettingsFactory,
) -> None:
    settings = make_settings(worker_warm_up=True, worker_processes=2)
    app = create_app(settings)
    async with running(app):
        resources: Resources = app.state.resources
        for _ in range(600):
            if len(_pool_children(resources)) == 2:
                break
            await asyncio.sleep(0.1)
        assert len(_pool_children(resources)) == 2, "the worker processes were not started"
        # The embedder is already loaded in the workers: a call finds it cached.
        assert await resources.processes.run(_embedder_loaded, limit_seconds=60)
    cold = create_app(make_settings(worker_processes=2))  # warm-up off: nothing started
    async with running(cold):
        await asyncio.sleep(1)
        assert _pool_children(cold.state.resources) == []
