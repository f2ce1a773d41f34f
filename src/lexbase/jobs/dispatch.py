"""Publishing "job X is ready" to the Celery workers, and re-publishing what got lost.

Publishing never decides anything: a job is recorded (queued) in the database first, and a
message is only a hint to claim it. So a request never fails because Redis is down — its job
stays queued and a sweeper publishes it once Redis is back — and publishing twice is harmless.
A Redis marker per job (dropped when the message is delivered) keeps the sweepers of every
process from flooding the queue with copies of messages that are merely waiting for a worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import structlog
from kombu.exceptions import KombuError
from redis import Redis
from redis.exceptions import RedisError

from lexbase.core.config import Settings
from lexbase.core.db import DATABASE_ERRORS
from lexbase.core.resources import Resources
from lexbase.jobs.execution import reap_expired
from lexbase.jobs.registry import TaskRegistry
from lexbase.jobs.repository import JobRepository

if TYPE_CHECKING:
    from celery import Celery

log = structlog.get_logger(__name__)

RUN_JOB = "lexbase.run_job"
QUEUE = "lexbase.jobs"
BROKER_ERRORS = (RedisError, KombuError, OSError)
# Due jobs looked at per sweep, oldest first. The queue needs only enough to keep every
# worker busy until the next sweep; the rest is published as those are taken.
SWEEP_LIMIT = 500
_MARKER = "lexbase:jobs:published:"


class Publisher:
    """Sends `run_job` messages, at most once per job per `celery_redispatch_seconds` unless
    the previous one was delivered. Blocking (kombu): call it from a thread in async code."""

    def __init__(self, app: Celery, settings: Settings) -> None:
        self.app = app
        self.redispatch_seconds = settings.celery_redispatch_seconds
        self.redis = Redis.from_url(
            settings.resolved_celery_broker_url or "",
            socket_timeout=5.0,
            socket_connect_timeout=2.0,
        )

    def publish(self, job_ids: Sequence[str], countdown: float = 0.0) -> int:
        """Publish each job not published recently; how many were sent. Raises BROKER_ERRORS."""
        if not job_ids:
            return 0
        ttl = math.ceil(self.redispatch_seconds + countdown)
        with self.redis.pipeline(transaction=False) as pipe:
            for job_id in job_ids:
                pipe.set(_MARKER + job_id, 1, nx=True, ex=ttl)
            fresh = [j for j, new in zip(job_ids, pipe.execute(), strict=True) if new]
        for index, job_id in enumerate(fresh):
            try:
                self.app.send_task(RUN_JOB, args=[job_id], queue=QUEUE, countdown=countdown or None)
            except BROKER_ERRORS:
                # Unmark what was not sent, so the next sweep tries again.
                with contextlib.suppress(*BROKER_ERRORS):
                    self.redis.delete(*(_MARKER + j for j in fresh[index:]))
                raise
        return len(fresh)

    def publish_quietly(self, job_ids: Sequence[str], countdown: float = 0.0) -> None:
        try:
            self.publish(job_ids, countdown)
        except BROKER_ERRORS as exc:
            log.warning("jobs.publish_failed", error_type=type(exc).__name__, jobs=len(job_ids))

    def forget(self, job_id: str) -> None:
        """The job's message was delivered: let a sweeper publish it again if it is re-queued."""
        with contextlib.suppress(*BROKER_ERRORS):
            self.redis.delete(_MARKER + job_id)

    def close(self) -> None:
        self.redis.close()


class JobDispatcher:
    """Publishes due jobs: woken when a transaction that enqueued jobs commits, and every
    `job_poll_seconds`. With `reap=True` (the sweeper of `lexbase worker`), it also returns
    jobs with expired leases to the queue first."""

    def __init__(
        self, resources: Resources, publisher: Publisher, *, reap: TaskRegistry | None
    ) -> None:
        """`reap`: the task registry of a process that also reaps expired leases (a worker's
        sweeper; the API's dispatcher only publishes)."""
        self.resources = resources
        self.publisher = publisher
        self.reap = reap
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def notify(self) -> None:
        self._wake.set()

    async def sweep(self) -> int:
        """One pass; database and broker outages are logged and waited out, never raised."""
        try:
            if self.reap is not None:
                await reap_expired(self.resources, self.reap)
            async with self.resources.sessionmaker() as session:
                due = await JobRepository(session).due_ids(SWEEP_LIMIT)
        except DATABASE_ERRORS as exc:
            log.warning("jobs.sweep_failed", error_type=type(exc).__name__)
            return 0
        try:
            return await asyncio.to_thread(self.publisher.publish, due)
        except BROKER_ERRORS as exc:
            log.warning("jobs.publish_failed", error_type=type(exc).__name__, jobs=len(due))
            return 0

    async def run(self) -> None:
        while True:
            self._wake.clear()
            await self.sweep()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._wake.wait(), timeout=self.resources.settings.job_poll_seconds
                )

    async def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name="job-dispatcher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await asyncio.to_thread(self.publisher.close)
        await asyncio.to_thread(self.publisher.app.close)


async def start_dispatcher(resources: Resources) -> JobDispatcher | None:
    """With LEXBASE_JOB_BACKEND=celery, the API's side of the queue: committed jobs are
    published to the workers instead of being run here."""
    if resources.settings.job_backend != "celery":
        return None
    from lexbase.jobs.celery_app import create_celery_app

    publisher = Publisher(create_celery_app(resources.settings), resources.settings)
    dispatcher = JobDispatcher(resources, publisher, reap=None)
    resources.notify_jobs = dispatcher.notify
    await dispatcher.start()
    log.info("jobs.dispatcher_started", broker=_redacted(publisher))
    return dispatcher


def _redacted(publisher: Publisher) -> str:
    kwargs = publisher.redis.connection_pool.connection_kwargs
    return f"{kwargs.get('host', '?')}:{kwargs.get('port', '?')}/{kwargs.get('db', 0)}"
