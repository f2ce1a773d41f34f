"""What a workflow step costs in bookkeeping, against one bare job of the same job engine.

    .venv/bin/python benchmarks/workflow_overhead.py [--executions N] [--jobs N]

Embedded runner with one worker (so nothing overlaps), SQLite in a temporary data dir. Both
are timed from the stored rows (first started to last finished), so the benchmark's own
polling is not counted. Bare jobs: N jobs of a type whose handler does nothing, enqueued at
once (claim, lease, outcome, events), per job. Workflow steps: N executions of a template of
ten `condition` steps that skip nothing, started at once (the engine's work only: the stored
state read and locked, the requester re-read, the step's outcome written, an event), per
step — each execution's own job claim included. Prints both and their ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import sys
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for the test factories
from tests.factories import create_tenant

from lexbase.app import create_app
from lexbase.core.config import Environment, Settings
from lexbase.core.db import transaction
from lexbase.core.logging import configure_logging
from lexbase.core.migrate import upgrade
from lexbase.jobs.models import Job
from lexbase.jobs.registry import JobContext
from lexbase.jobs.repository import JobRepository
from lexbase.jobs.service import Subject, enqueue
from lexbase.tasks import task_registry

SECRET = secrets.token_urlsafe(48)
MODEL_DIR = Path(os.environ.get("LEXBASE_MODEL_DIR", "data/models")).resolve()
NOOP_JOB = "benchmark_noop"
STEPS = 10
DEFINITION = {
    "inputs": {"note": {"type": "string"}},
    "steps": [
        {
            "name": f"check_{n}",
            "type": "condition",
            "when": {"value": "$input.note", "op": "exists"},
        }
        for n in range(STEPS)
    ],
}


class Noop:
    async def run(self, context: JobContext) -> dict[str, Any] | None:
        return None

    async def on_failed(self, session: Any, job: Any, message: str, code: str) -> None:
        return None


async def bare_jobs(app: Any, organization_id: str, count: int) -> float:
    resources = app.state.resources
    async with transaction(resources.write_sessionmaker) as session:
        for n in range(count):
            subject = Subject("benchmark", str(n), organization_id, None)
            await enqueue(session, NOOP_JOB, subject, max_attempts=1)
    while True:
        await asyncio.sleep(0.2)
        async with transaction(resources.sessionmaker) as session:
            jobs = await JobRepository(session).list(
                select(Job).where(Job.type == NOOP_JOB), limit=count
            )
        if all(j.status == "succeeded" for j in jobs):
            return _span([(j.started_at, j.finished_at) for j in jobs])


async def workflows(c: httpx.AsyncClient, admin: dict[str, str], count: int) -> float:
    made = await c.post(
        "/api/v1/workflows/templates",
        json={"name": "No-op", "category": "benchmark", "definition": DEFINITION},
        headers=admin,
    )
    template_id = made.json()["id"]

    async def run(n: int) -> float:
        ids = []
        for _ in range(n):
            response = await c.post(
                "/api/v1/workflows/executions",
                json={"template_id": template_id, "input": {"note": "x"}},
                headers=admin,
            )
            ids.append(response.json()["id"])
        spans = []
        for execution_id in ids:
            while True:
                execution = (
                    await c.get(f"/api/v1/workflows/executions/{execution_id}", headers=admin)
                ).json()
                if execution["status"] == "completed":
                    break
                await asyncio.sleep(0.2)
            spans.append((_at(execution["started_at"]), _at(execution["finished_at"])))
        return _span(spans)

    await run(1)  # the engine's first execution opens what steps may need; not timed
    return await run(count)


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _span(spans: list[tuple[datetime | None, datetime | None]]) -> float:
    starts = [a for a, _ in spans if a is not None]
    ends = [b for _, b in spans if b is not None]
    return (max(ends) - min(starts)).total_seconds()


async def measure(executions: int, jobs: int) -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="lexbase-bench-"))
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        env=Environment.TEST,
        data_dir=data_dir,
        model_dir=MODEL_DIR,
        secret_key=SECRET,
        rate_limit_enabled=False,
        embedded_workers=1,
        job_poll_seconds=0.05,
        worker_warm_up=False,
    )
    upgrade(settings)
    tenant = await create_tenant(settings, "Bench")
    tasks = task_registry().with_handlers({NOOP_JOB: Noop()})
    app = create_app(settings, tasks)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as c:
            step_seconds = await workflows(c, tenant.admin.headers, executions)
        job_seconds = await bare_jobs(app, tenant.organization_id, jobs)
    per_job = job_seconds / jobs * 1000
    per_step = step_seconds / (executions * STEPS) * 1000
    print(f"bare job: {jobs} in {job_seconds:.2f}s = {per_job:.1f} ms a job")
    print(
        f"workflow steps: {executions} executions x {STEPS} steps in {step_seconds:.2f}s"
        f" = {per_step:.1f} ms a step (with each execution's start and reads)"
    )
    print(f"ratio step / bare job: {per_step / per_job:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--executions", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=200)
    args = parser.parse_args()
    configure_logging("WARNING", json=False)
    print(f"machine: {os.cpu_count()} cores")
    asyncio.run(measure(args.executions, args.jobs))


if __name__ == "__main__":
    main()
