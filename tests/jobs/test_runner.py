"""The embedded runner: exactly-once claims, retries with backoff, permanent failures, reaping."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from lexbase.core.db import transaction, utcnow
from lexbase.core.resources import Resources
from lexbase.jobs.models import Job
from lexbase.jobs.registry import JobContext, PermanentJobError, TaskRegistry
from lexbase.jobs.repository import JobRepository
from lexbase.jobs.runner import JobRunner, reap_expired
from lexbase.providers.resources import open_resources
from tests.conftest import SettingsFactory
from tests.factories import Tenant


class Recorder:
    """A job type whose behaviour each test scripts; records every run and failure hook."""

    def __init__(self) -> None:
        self.runs: Counter[str] = Counter()
        self.failed: dict[str, tuple[str, str]] = {}
        self.script: dict[str, list[str]] = {}

    async def run(self, context: JobContext) -> dict[str, Any] | None:
        self.runs[context.job.id] += 1
        await context.progress("work", 0.5)
        plan = self.script.get(context.job.id, [])
        step = plan.pop(0) if plan else "ok"
        if step == "transient":
            raise RuntimeError("flaky dependency")
        if step == "permanent":
            raise PermanentJobError("the input is unusable", "bad_input")
        if step == "slow":
            await asyncio.sleep(0.05)
        return {"ran": self.runs[context.job.id]}

    async def on_failed(self, session: AsyncSession, job: Job, message: str, code: str) -> None:
        self.failed[job.id] = (message, code)


RECORDER = Recorder()
TASKS = TaskRegistry({"test_job": RECORDER})


@pytest.fixture
async def resources(make_settings: SettingsFactory) -> AsyncIterator[Resources]:
    settings = make_settings(job_retry_base_seconds=0, job_lease_seconds=2, job_poll_seconds=0.05)
    opened = open_resources(settings)
    try:
        yield opened
    finally:
        await opened.close()


async def enqueue(resources: Resources, tenant: Tenant, count: int, **values: Any) -> list[str]:
    async with transaction(resources.write_sessionmaker) as session:
        jobs = [
            Job(organization_id=tenant.organization_id, type="test_job", **values)
            for _ in range(count)
        ]
        session.add_all(jobs)
        await session.flush()
        return [job.id for job in jobs]


async def jobs_by_id(resources: Resources, ids: list[str]) -> dict[str, Job]:
    async with resources.sessionmaker() as session:
        rows = (await session.execute(select(Job).where(Job.id.in_(ids)))).scalars().all()
        return {job.id: job for job in rows}


async def run_until_settled(
    resources: Resources, ids: list[str], workers: int, limit: float = 30
) -> dict[str, Job]:
    runner = JobRunner(resources, workers, TASKS)
    await runner.start()
    deadline = time.monotonic() + limit
    try:
        while time.monotonic() < deadline:
            jobs = await jobs_by_id(resources, ids)
            if all(j.status in ("succeeded", "failed") for j in jobs.values()):
                return jobs
            runner.notify()
            await asyncio.sleep(0.05)
    finally:
        await runner.stop()
    raise AssertionError("jobs did not settle")


async def test_each_job_runs_exactly_once_across_workers(
    resources: Resources, tenant: Tenant
) -> None:
    ids = await enqueue(resources, tenant, 30)
    for job_id in ids:
        RECORDER.script[job_id] = ["slow"]
    jobs = await run_until_settled(resources, ids, workers=4)
    assert {j.status for j in jobs.values()} == {"succeeded"}
    assert all(RECORDER.runs[i] == 1 for i in ids)
    assert all(
        j.attempts == 1 and j.progress == 1.0 and j.result == {"ran": 1} for j in jobs.values()
    )


async def test_transient_failures_retry_then_succeed(resources: Resources, tenant: Tenant) -> None:
    [job_id] = await enqueue(resources, tenant, 1, max_attempts=3)
    RECORDER.script[job_id] = ["transient", "transient", "ok"]
    job = (await run_until_settled(resources, [job_id], workers=1))[job_id]
    assert job.status == "succeeded"
    assert job.attempts == 3
    assert RECORDER.runs[job_id] == 3


async def test_retries_exhausted_fail_with_last_error(resources: Resources, tenant: Tenant) -> None:
    [job_id] = await enqueue(resources, tenant, 1, max_attempts=2)
    RECORDER.script[job_id] = ["transient", "transient", "transient"]
    job = (await run_until_settled(resources, [job_id], workers=1))[job_id]
    assert job.status == "failed"
    assert job.attempts == 2
    assert job.error_code == "retries_exhausted"
    # The exception's text goes to the logs; readers get the fixed sentence for the code.
    assert job.error == "Processing failed because of an internal error; retrying did not help"
    assert RECORDER.failed[job_id][1] == "retries_exhausted"


async def test_permanent_failure_is_not_retried(resources: Resources, tenant: Tenant) -> None:
    [job_id] = await enqueue(resources, tenant, 1, max_attempts=5)
    RECORDER.script[job_id] = ["permanent"]
    job = (await run_until_settled(resources, [job_id], workers=1))[job_id]
    assert (job.status, job.attempts, job.error_code) == ("failed", 1, "bad_input")
    assert RECORDER.failed[job_id] == ("the input is unusable", "bad_input")


async def test_expired_lease_is_requeued_and_finished_once(
    resources: Resources, tenant: Tenant
) -> None:
    [job_id] = await enqueue(resources, tenant, 1, max_attempts=3)
    # A worker claims the job and then dies without a word.
    async with transaction(resources.write_sessionmaker) as session:
        claimed = await JobRepository(session).claim("dead-worker", timedelta(seconds=-1))
    assert claimed is not None and claimed.id == job_id
    assert await reap_expired(resources, TASKS) == 1
    requeued = (await jobs_by_id(resources, [job_id]))[job_id]
    assert requeued.status == "queued" and requeued.lease_owner is None
    job = (await run_until_settled(resources, [job_id], workers=2))[job_id]
    assert job.status == "succeeded"
    assert job.attempts == 2
    # The dead worker's late report cannot overwrite the outcome.
    async with transaction(resources.write_sessionmaker) as session:
        assert not await JobRepository(session).finish(job_id, "dead-worker", status="failed")


async def test_lost_job_out_of_attempts_fails(resources: Resources, tenant: Tenant) -> None:
    [job_id] = await enqueue(resources, tenant, 1, max_attempts=1)
    async with transaction(resources.write_sessionmaker) as session:
        await JobRepository(session).claim("dead-worker", timedelta(seconds=-1))
    await reap_expired(resources, TASKS)
    job = (await jobs_by_id(resources, [job_id]))[job_id]
    assert (job.status, job.error_code) == ("failed", "worker_lost")
    assert job.error == "The worker processing this job stopped unexpectedly"
    assert RECORDER.failed[job_id][1] == "worker_lost"


async def test_future_jobs_wait_for_their_time(resources: Resources, tenant: Tenant) -> None:
    [job_id] = await enqueue(resources, tenant, 1, run_after=utcnow() + timedelta(hours=1))
    async with transaction(resources.write_sessionmaker) as session:
        assert await JobRepository(session).claim("w", timedelta(seconds=30)) is None
    assert (await jobs_by_id(resources, [job_id]))[job_id].status == "queued"


async def test_a_job_of_unknown_type_fails_visibly(resources: Resources, tenant: Tenant) -> None:
    """A type no handler is registered for must not wait in the queue forever, unseen."""
    [known] = await enqueue(resources, tenant, 1)
    async with transaction(resources.write_sessionmaker) as session:
        stray = Job(organization_id=tenant.organization_id, type="retired_job_type")
        session.add(stray)
        await session.flush()
        stray_id = stray.id
    jobs = await run_until_settled(resources, [known, stray_id], workers=1)
    assert jobs[known].status == "succeeded"
    failed = jobs[stray_id]
    assert (failed.status, failed.error_code) == ("failed", "unknown_job_type")
    assert failed.error == "No worker of this server can run this kind of job"


async def test_a_worker_without_a_handler_for_a_type_in_use_refuses_to_start(
    resources: Resources, tenant: Tenant
) -> None:
    from lexbase.jobs.worker import run_worker

    async with transaction(resources.write_sessionmaker) as session:
        session.add(Job(organization_id=tenant.organization_id, type="newer_job_type"))
    settings = resources.settings.model_copy(
        update={"job_backend": "celery", "celery_broker_url": "redis://127.0.0.1:1/0"}
    )
    code = await asyncio.to_thread(run_worker, settings, lambda: TASKS, concurrency=1)
    assert code == 3
