"""Claiming, running and recording one job: the code path every runner shares.

The embedded runner (worker tasks in the API process) and the Celery workers differ only in
how they learn that a job is ready. Both claim it here under a lease, run its handler with
heartbeats, and record the outcome here; the jobs table stays the source of truth.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import socket
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta

import structlog
from opentelemetry.trace import SpanKind, StatusCode

from lexbase.core import sentry, tracing
from lexbase.core.db import DATABASE_ERRORS, transaction, utcnow
from lexbase.core.events import Event
from lexbase.core.metrics import work
from lexbase.core.resources import Resources
from lexbase.jobs import failures
from lexbase.jobs.models import FAILED, QUEUED, SUCCEEDED, Job
from lexbase.jobs.registry import JobContext, PermanentJobError, TaskRegistry
from lexbase.jobs.repository import JobRepository

log = structlog.get_logger(__name__)

MAX_BACKOFF_SECONDS = 300.0


def backoff_seconds(attempt: int, base: float, cap: float = MAX_BACKOFF_SECONDS) -> float:
    """Exponential backoff with full jitter."""
    return random.uniform(0, min(cap, base * 2 ** max(attempt - 1, 0)))  # noqa: S311


def lease_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class Outcome:
    status: str  # succeeded | queued (to be retried) | failed
    retry_in: float | None = None  # seconds until a re-queued job is due


class JobExecutor:
    """Runs claimed jobs to an outcome under one lease owner (a runner or a worker process)."""

    def __init__(self, resources: Resources, tasks: TaskRegistry) -> None:
        self.resources = resources
        self.tasks = tasks
        self.lease = timedelta(seconds=resources.settings.job_lease_seconds)
        self.owner = lease_owner()

    async def claim(self, job_id: str | None = None) -> Job | None:
        """Take the oldest due job, or exactly `job_id`: None when it is not queued and due
        (already running under another lease, finished, or waiting out its backoff)."""
        async with transaction(self.resources.write_sessionmaker) as session:
            return await JobRepository(session).claim(self.owner, self.lease, job_id)

    async def execute(self, job: Job) -> Outcome:
        """Run one claimed job to an outcome: succeeded, re-queued with backoff, or failed.
        A job of a type this registry does not know fails at once, visibly. Traced as a
        child of the request that queued it."""
        with tracing.tracer().start_as_current_span(
            f"job {job.type}",
            context=tracing.context_of(job.traceparent),
            kind=SpanKind.CONSUMER,
            attributes={
                "lexbase.job.id": job.id,
                "lexbase.job.type": job.type,
                "lexbase.job.attempt": job.attempts,
            },
        ) as span:
            outcome = await self._execute(job)
            span.set_attribute("lexbase.job.outcome", outcome.status)
            if outcome.status == FAILED:
                span.set_status(StatusCode.ERROR)
            return outcome

    async def _execute(self, job: Job) -> Outcome:
        handler = self.tasks.handler_for(job.type)
        if handler is None:
            code = failures.UNKNOWN_JOB_TYPE
            await self._fail(job, failures.MESSAGES[code], code)
            log.error("job.failed", job_id=job.id, job_type=job.type, code=code)
            return Outcome(FAILED)
        started = time.perf_counter()
        bound = log.bind(job_id=job.id, job_type=job.type, attempt=job.attempts, owner=self.owner)

        async def progress(stage: str, fraction: float) -> None:
            async with transaction(self.resources.write_sessionmaker) as session:
                await JobRepository(session).heartbeat(
                    job.id, self.owner, self.lease, stage=stage, progress=round(fraction, 4)
                )
            # Kept on the claimed row too: a failure is reported at the stage it reached.
            job.stage, job.progress = stage, round(fraction, 4)
            await self._announce(job, "running", stage, fraction)

        keepalive = asyncio.create_task(self._keep_lease(job.id))
        try:
            result = await handler.run(JobContext(job, self.resources, progress))
        except PermanentJobError as exc:
            await self._fail(job, str(exc), exc.code)
            bound.info("job.failed", code=exc.code, error=str(exc), detail=exc.detail)
            return _counted(job, Outcome(FAILED), started)
        except asyncio.CancelledError:
            raise  # shutting down: the lease expires and the reaper re-queues the job
        except Exception as exc:
            return _counted(job, await self._retry_or_fail(job, exc), started)
        finally:
            keepalive.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keepalive
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
        bound.info("job.succeeded", seconds=round(time.perf_counter() - started, 4))
        await self._announce(job, SUCCEEDED, "done", 1.0)
        return _counted(job, Outcome(SUCCEEDED), started)

    async def _announce(self, job: Job, status: str, stage: str | None, fraction: float) -> None:
        data = {
            "job_id": job.id,
            "type": job.type,
            "document_id": job.document_id,
            "status": status,
            "stage": stage,
            "progress": round(fraction, 4),
        }
        # The matter as it is now, not as it was when the job was claimed: a document moved
        # behind a wall meanwhile takes its job's events with it.
        try:  # one statement: no transaction needed around it
            async with transaction(self.resources.statement_reads) as session:
                matter_id = await JobRepository(session).matter_of(job.id)
        except DATABASE_ERRORS:
            log.warning("job.announce_skipped", job_id=job.id)
            return
        await self.resources.events.publish(
            Event("job.progress", job.organization_id, matter_id, data)
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

    async def _retry_or_fail(self, job: Job, exc: Exception) -> Outcome:
        settings = self.resources.settings
        # Readers get a fixed sentence (jobs/failures.py); the exception only reaches the logs.
        error = {"error_type": type(exc).__name__, "error": str(exc)[:2000]}
        if job.attempts >= job.max_attempts:
            code = failures.final_code(exc)
            await self._fail(job, failures.MESSAGES[code], code)
            log.error(
                "job.failed", job_id=job.id, code=code, attempts=job.attempts, exc_info=exc, **error
            )
            sentry.report(exc, job_id=job.id, job_type=job.type, code=code)
            return Outcome(FAILED)
        delay = backoff_seconds(job.attempts, settings.job_retry_base_seconds)
        async with transaction(self.resources.write_sessionmaker) as session:
            await JobRepository(session).finish(
                job.id,
                self.owner,
                status=QUEUED,
                error=failures.MESSAGES[failures.RETRYING],
                error_code=failures.RETRYING,
                run_after=utcnow() + timedelta(seconds=delay),
            )
        log.warning("job.retrying", job_id=job.id, delay=round(delay, 2), **error)
        await self._announce(job, QUEUED, "retrying", 0.0)
        return Outcome(QUEUED, retry_in=delay)

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
                handler = self.tasks.handler_for(job.type)
                if handler is not None:
                    event = await handler.on_failed(session, job, message, code)
        if event is not None:
            await self.resources.events.publish(event)
        await self._announce(job, FAILED, job.stage, job.progress)


def _counted(job: Job, outcome: Outcome, started: float) -> Outcome:
    label = "retried" if outcome.status == QUEUED else outcome.status
    metrics = work()
    metrics.jobs.labels(job.type, label).inc()
    metrics.job_duration.labels(job.type, label).observe(time.perf_counter() - started)
    return outcome


async def reap_expired(resources: Resources, tasks: TaskRegistry) -> int:
    """Return jobs with expired leases to the queue (or fail them when out of attempts)."""
    now = utcnow()
    settings = resources.settings
    reaped = 0
    events: list[Event] = []
    async with transaction(resources.write_sessionmaker) as session:
        repository = JobRepository(session)
        for job in await repository.expired(now):
            if job.attempts >= job.max_attempts:
                message, owner = failures.MESSAGES[failures.WORKER_LOST], job.lease_owner
                if await repository.fail_expired(job.id, now, message):
                    log.warning(
                        "job.failed",
                        job_id=job.id,
                        code=failures.WORKER_LOST,
                        attempts=job.attempts,
                        lease_owner=owner,
                    )
                    handler = tasks.handler_for(job.type)
                    if handler is not None:
                        code = failures.WORKER_LOST
                        event = await handler.on_failed(session, job, message, code)
                        if event is not None:
                            events.append(event)
            else:
                delay = backoff_seconds(job.attempts, settings.job_retry_base_seconds)
                await repository.requeue_expired(job.id, now, now + timedelta(seconds=delay))
            reaped += 1
    for event in events:
        await resources.events.publish(event)
    if reaped:
        log.warning("jobs.reaped", count=reaped)
    return reaped
