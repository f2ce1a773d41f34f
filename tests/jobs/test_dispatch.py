"""The Celery side in-process: publishing with markers, one delivery's claim, and settings.

The task body runs here in a thread, exactly as a worker pool process runs it, against real
Redis and both databases; `test_celery_runner.py` runs it in real `lexbase worker` processes.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
from celery import Celery
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from lexbase.core.config import ConfigurationError, load_settings
from lexbase.core.db import transaction, utcnow
from lexbase.core.resources import Resources
from lexbase.jobs.celery_app import ProcessJobs, create_celery_app
from lexbase.jobs.dispatch import BROKER_ERRORS, QUEUE, JobDispatcher, Publisher
from lexbase.jobs.models import Job
from lexbase.jobs.registry import JobContext, TaskRegistry
from lexbase.providers.resources import open_resources
from tests.conftest import SettingsFactory
from tests.factories import Tenant
from tests.support.services import find_free_port

JOB_TYPE = "dispatch_test_job"


class Flaky:
    def __init__(self) -> None:
        self.runs: Counter[str] = Counter()
        self.failures: dict[str, int] = {}

    async def run(self, context: JobContext) -> dict[str, Any] | None:
        self.runs[context.job.id] += 1
        if self.failures.get(context.job.id, 0) >= self.runs[context.job.id]:
            raise RuntimeError("flaky dependency")
        return {"ran": self.runs[context.job.id]}

    async def on_failed(self, session: AsyncSession, job: Job, message: str, code: str) -> None:
        return None


HANDLER = Flaky()
TASKS = TaskRegistry({JOB_TYPE: HANDLER})


@pytest.fixture
async def resources(make_settings: SettingsFactory, redis_url: str) -> AsyncIterator[Resources]:
    settings = make_settings(
        job_backend="celery", redis_url=redis_url, job_retry_base_seconds=0.2, job_lease_seconds=5
    )
    opened = open_resources(settings)
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
def celery_app(resources: Resources) -> Celery:
    return create_celery_app(resources.settings)


async def enqueue(resources: Resources, tenant: Tenant) -> str:
    async with transaction(resources.write_sessionmaker) as session:
        job = Job(organization_id=tenant.organization_id, type=JOB_TYPE)
        session.add(job)
        await session.flush()
        return job.id


async def job_row(resources: Resources, job_id: str) -> Job:
    async with resources.sessionmaker() as session:
        job = await session.get(Job, job_id)
        assert job is not None
        return job


async def set_run_after(resources: Resources, job_id: str, when: datetime) -> None:
    async with transaction(resources.write_sessionmaker) as session:
        await session.execute(update(Job).where(Job.id == job_id).values(run_after=when))


def queued_messages(url: str) -> int:
    client = redis.Redis.from_url(url)
    try:
        return int(client.llen(QUEUE))
    finally:
        client.close()


async def test_publisher_sends_each_job_once_until_delivered(
    resources: Resources, celery_app: Celery, redis_url: str
) -> None:
    publisher = Publisher(celery_app, resources.settings)
    try:
        assert publisher.publish(["a", "b"]) == 2
        assert publisher.publish(["a", "b"]) == 0  # still waiting for a worker: no copies
        publisher.forget("a")  # delivered; if its job is queued again, it may be re-published
        assert publisher.publish(["a", "b"]) == 1
    finally:
        publisher.close()
    assert queued_messages(redis_url) == 3


async def test_a_delivery_claims_its_job_and_duplicates_are_no_ops(
    resources: Resources, celery_app: Celery, tenant: Tenant, redis_url: str
) -> None:
    job_id = await enqueue(resources, tenant)
    HANDLER.failures[job_id] = 1
    process = ProcessJobs(resources.settings, celery_app, lambda: TASKS)
    try:
        await asyncio.to_thread(process.run_job, job_id)
        retrying = await job_row(resources, job_id)
        assert (retrying.status, retrying.attempts) == ("queued", 1)
        assert retrying.error_code == "retrying"
        # The retry went back to the broker with its backoff as a countdown.
        assert queued_messages(redis_url) == 1
        await set_run_after(resources, job_id, utcnow() + timedelta(hours=1))
        await asyncio.to_thread(process.run_job, job_id)  # early: still backing off
        assert (await job_row(resources, job_id)).attempts == 1
        await set_run_after(resources, job_id, utcnow())
        await asyncio.to_thread(process.run_job, job_id)
        await asyncio.to_thread(process.run_job, job_id)  # a duplicate delivery
    finally:
        await asyncio.to_thread(process.close)
    job = await job_row(resources, job_id)
    assert (job.status, job.attempts, job.result) == ("succeeded", 2, {"ran": 2})
    assert HANDLER.runs[job_id] == 2


async def test_sweep_with_the_broker_down_keeps_jobs_queued(
    make_settings: SettingsFactory, tenant: Tenant
) -> None:
    settings = make_settings(
        job_backend="celery", redis_url=f"redis://127.0.0.1:{find_free_port()}/0"
    )
    resources = open_resources(settings)
    app = create_celery_app(settings)
    publisher = Publisher(app, settings)
    try:
        job_id = await enqueue(resources, tenant)
        with pytest.raises(BROKER_ERRORS):
            await asyncio.to_thread(publisher.publish, [job_id])
        assert await JobDispatcher(resources, publisher, reap=TASKS).sweep() == 0
        assert (await job_row(resources, job_id)).status == "queued"
    finally:
        publisher.close()
        app.close()
        await resources.close()


def test_celery_backend_needs_a_redis_broker() -> None:
    with pytest.raises(ConfigurationError, match="LEXBASE_CELERY_BROKER_URL"):
        load_settings(_env_file=None, job_backend="celery")
    with pytest.raises(ConfigurationError, match="LEXBASE_CELERY_BROKER_URL"):
        load_settings(_env_file=None, celery_broker_url="amqp://rabbit")
    with pytest.raises(ConfigurationError, match="VISIBILITY_TIMEOUT"):
        load_settings(
            _env_file=None,
            job_backend="celery",
            redis_url="redis://127.0.0.1:6379/0",
            celery_visibility_timeout_seconds=30,
            job_lease_seconds=60,
        )
    settings = load_settings(
        _env_file=None, job_backend="celery", redis_url="redis://127.0.0.1:6379/0"
    )
    assert settings.resolved_celery_broker_url == "redis://127.0.0.1:6379/0"


def test_worker_command_refuses_the_embedded_backend(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "lexbase", "worker"],
        env={"PATH": "/usr/bin:/bin", "LEXBASE_DATA_DIR": str(tmp_path)},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "LEXBASE_JOB_BACKEND=celery" in result.stderr
