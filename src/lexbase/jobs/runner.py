"""The embedded job runner: worker tasks inside the API process, plus a lease reaper.

The jobs table is the source of truth. A worker claims a job by taking a lease, extends it
while it works, and records the outcome; a reaper returns jobs whose lease expired (a killed
process, a lost machine) to the queue, so no job stays `running` forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import socket
import uuid
from datetime import timedelta
from typing import Any

import structlog
from sqlalchemy.exc import SQLAlchemyError

from lexbase.core.db import transaction, utcnow
from lexbase.core.events import Event
from lexbase.core.resources import Resources
from lexbase.jobs.models import FAILED, QUEUED, SUCCEEDED, Job
from lexbase.jobs.registry import JobContext, PermanentJobError, handler_for, job_types
from lexbase.jobs.repository import JobRepository

log = structlog.get_logger(__name__)

# What a database that restarts or drops connections raises (timeouts are OSErrors too).
DATABASE_ERRORS = (SQLAlchemyError, OSError)


def backoff_seconds(attempt: int, base: float, cap: float) -> float:
    """Exponential backoff with full jitter."""
    return random.uniform(0, min(cap, base * 2 ** max(attempt - 1, 0)))  # noqa: S311


class JobRunner:
    def __init__(self, resources: Resources, workers: int) -> None:
        self.resources = resources
        self.workers = workers
        settings = resources.settings
        self.lease = timedelta(seconds=settings.job_lease_seconds)
        self.poll_seconds = settings.job_poll_seconds
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False

    def notify(self) -> None:
        """A job was committed: wake an idle worker now instead of at the next poll."""
        self._wake.set()

    async def start(self) -> None:
        for index in range(self.workers):
            self._tasks.append(asyncio.create_task(self._worker(index), name=f"job-worker-{index}"))
        self._tasks.append(asyncio.create_task(self._reaper(), name="job-reaper"))
        log.info("jobs.runner_started", workers=self.workers, owner=self.owner)

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()

    async def _worker(self, index: int) -> None:
        while not self._stopping:
            try:
                job = await self._claim()
            except DATABASE_ERRORS:  # the database is briefly away: keep the worker alive
                log.exception("jobs.claim_failed", worker=index)
                job = None
            if job is None:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=self.poll_seconds)
                continue
            try:
                await self.execute(job)
            except DATABASE_ERRORS:
                # Even recording the outcome failed (the database went away). The lease will
                # expire and the reaper hands the job out again; this worker carries on.
                log.exception("job.outcome_not_recorded", job_id=job.id)
                await asyncio.sleep(self.poll_seconds)

    async def _claim(self) -> Job | None:
        async with transaction(self.resources.write_sessionmaker) as session:
            return await JobRepository(session).claim(self.owner, self.lease, job_types())

    async def execute(self, job: Job) -> None:
        """Run one claimed job to an outcome: succeeded, re-queued with backoff, or failed."""
        handler = handler_for(job.type)
        started = utcnow()
        bound = log.bind(job_id=job.id, job_type=job.type, attempt=job.attempts)

        async def progress(stage: str, fraction: float) -> None:
            async with transaction(self.resources.write_sessionmaker) as session:
                await JobRepository(session).heartbeat(
                    job.id, self.owner, self.lease, stage=stage, progress=round(fraction, 4)
                )
            await self._announce(job, "running", stage, fraction)

        keepalive = asyncio.create_task(self._keep_lease(job.id))
        try:
            result = await handler.run(JobContext(job, self.resources, progress))
        except PermanentJobError as exc:
            await self._fail(job, str(exc), exc.code)
            bound.info("job.failed", code=exc.code, error=str(exc))
        except asyncio.CancelledError:
            raise  # shutting down: the lease expires and the reaper re-queues the job
        except Exception as exc:
            await self._retry_or_fail(job, exc)
        else:
            async with transaction(self.resources.write_sessionmaker) as session:
                await JobRepository(session).finish(
                    job.id,
                    self.owner,
                    status=SUCCEEDED,
                    progress=1.0,
                    stage="done",
                    result=result,
                    finished_at=utcnow(),
                )
            bound.info("job.succeeded", seconds=(utcnow() - started).total_seconds())
            await self._announce(job, SUCCEEDED, "done", 1.0)
        finally:
            keepalive.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keepalive

    async def _announce(self, job: Job, status: str, stage: str | None, fraction: float) -> None:
        data = {
            "job_id": job.id,
            "type": job.type,
            "document_id": job.document_id,
            "status": status,
            "stage": stage,
            "progress": round(fraction, 4),
        }
        await self.resources.events.publish(
            Event("job.progress", job.organization_id, job.matter_id, data)
        )

    async def _keep_lease(self, job_id: str) -> None:
        interval = max(self.lease.total_seconds() / 3, 0.5)
        while True:
            await asyncio.sleep(interval)
            try:
                async with transaction(self.resources.write_sessionmaker) as session:
                    await JobRepository(session).heartbeat(job_id, self.owner, self.lease)
            except DATABASE_ERRORS:  # a missed heartbeat is survivable; the lease has slack
                log.warning("job.heartbeat_failed", job_id=job_id)

    async def _retry_or_fail(self, job: Job, exc: Exception) -> None:
        settings = self.resources.settings
        message = f"{type(exc).__name__}: {exc}"[:2000]
        if job.attempts >= job.max_attempts:
            await self._fail(job, message, "retries_exhausted")
            log.error("job.failed", job_id=job.id, error=message, attempts=job.attempts)
            return
        delay = backoff_seconds(job.attempts, settings.job_retry_base_seconds, 300.0)
        async with transaction(self.resources.write_sessionmaker) as session:
            await JobRepository(session).finish(
                job.id,
                self.owner,
                status=QUEUED,
                error=message,
                error_code="retrying",
                run_after=utcnow() + timedelta(seconds=delay),
            )
        log.warning("job.retrying", job_id=job.id, error=message, delay=round(delay, 2))
        await self._announce(job, QUEUED, "retrying", 0.0)

    async def _fail(self, job: Job, message: str, code: str) -> None:
        event = None
        async with transaction(self.resources.write_sessionmaker) as session:
            if await JobRepository(session).finish(
                job.id,
                self.owner,
                status=FAILED,
                error=message,
                error_code=code,
                finished_at=utcnow(),
            ):
                event = await handler_for(job.type).on_failed(session, job, message, code)
        if event is not None:
            await self.resources.events.publish(event)
        await self._announce(job, FAILED, job.stage, job.progress)

    async def _reaper(self) -> None:
        while not self._stopping:
            try:
                await reap_expired(self.resources)
            except DATABASE_ERRORS:
                log.exception("jobs.reap_failed")
            await asyncio.sleep(max(self.lease.total_seconds() / 2, 0.5))


async def reap_expired(resources: Resources) -> int:
    """Return jobs with expired leases to the queue (or fail them when out of attempts)."""
    now = utcnow()
    settings = resources.settings
    reaped = 0
    events: list[Event] = []
    async with transaction(resources.write_sessionmaker) as session:
        repository = JobRepository(session)
        for job in await repository.expired(now):
            if job.attempts >= job.max_attempts:
                message = "The worker processing this job stopped responding; retries exhausted"
                if await repository.fail_expired(job.id, now, message):
                    handler = handler_for(job.type)
                    event = await handler.on_failed(session, job, message, "worker_lost")
                    if event is not None:
                        events.append(event)
            else:
                delay = backoff_seconds(job.attempts, settings.job_retry_base_seconds, 300.0)
                await repository.requeue_expired(job.id, now, now + timedelta(seconds=delay))
            reaped += 1
    for event in events:
        await resources.events.publish(event)
    if reaped:
        log.warning("jobs.reaped", count=reaped)
    return reaped


def job_summary(job: Job) -> dict[str, Any]:
    return {"id": job.id, "type": job.type, "status": job.status, "attempts": job.attempts}
