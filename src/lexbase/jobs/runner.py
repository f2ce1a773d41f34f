"""The embedded job runner: worker tasks inside the API process, plus a lease reaper.

The jobs table is the source of truth. A worker claims a job by taking a lease, extends it
while it works, and records the outcome (`jobs/execution.py`, shared with the Celery workers);
a reaper returns jobs whose lease expired (a killed process, a lost machine) to the queue, so
no job stays `running` forever.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque

import structlog

from lexbase.core.db import DATABASE_ERRORS
from lexbase.core.resources import Resources
from lexbase.jobs.execution import JobExecutor, reap_expired
from lexbase.jobs.models import Job
from lexbase.jobs.registry import TaskRegistry

log = structlog.get_logger(__name__)


class JobRunner:
    def __init__(self, resources: Resources, workers: int, tasks: TaskRegistry) -> None:
        self.resources = resources
        self.workers = workers
        self.tasks = tasks
        self.executor = JobExecutor(resources, tasks)
        self.owner = self.executor.owner
        self.poll_seconds = resources.settings.job_poll_seconds
        # Idle workers, each waiting on its own event: a new job wakes one of them, not all
        # (every claim is a write transaction; a herd of them would queue for the writer).
        self._idle: deque[asyncio.Event] = deque()
        self._pending = False  # a job came while no worker was idle
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False

    def notify(self) -> None:
        """A job was committed: wake one idle worker now instead of at the next poll. A
        worker that claims a job wakes the next, so a batch of jobs fans out."""
        if self._idle:
            self._idle.popleft().set()
        else:
            self._pending = True

    async def start(self) -> None:
        for index in range(self.workers):
            self._tasks.append(asyncio.create_task(self._worker(index), name=f"job-worker-{index}"))
        self._tasks.append(asyncio.create_task(self._reaper(), name="job-reaper"))
        log.info("jobs.runner_started", workers=self.workers, owner=self.owner)

    async def stop(self) -> None:
        self._stopping = True
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()

    async def _worker(self, index: int) -> None:
        while not self._stopping:
            try:
                job = await self.executor.claim()
            except DATABASE_ERRORS:  # the database is briefly away: keep the worker alive
                log.exception("jobs.claim_failed", worker=index)
                job = None
            if job is None:
                await self._idle_until_woken()
                continue
            self.notify()  # there may be more
            try:
                await self.execute(job)
            except DATABASE_ERRORS:
                # Even recording the outcome failed (the database went away). The lease will
                # expire and the reaper hands the job out again; this worker carries on.
                log.exception("job.outcome_not_recorded", job_id=job.id)
                await asyncio.sleep(self.poll_seconds)

    async def _idle_until_woken(self) -> None:
        if self._pending:
            self._pending = False
            return
        wake = asyncio.Event()
        self._idle.append(wake)
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), timeout=self.poll_seconds)
        finally:
            with contextlib.suppress(ValueError):
                self._idle.remove(wake)

    async def execute(self, job: Job) -> None:
        """Run one claimed job to an outcome: succeeded, re-queued with backoff, or failed."""
        await self.executor.execute(job)

    async def _reaper(self) -> None:
        lease = self.executor.lease.total_seconds()
        while not self._stopping:
            try:
                await reap_expired(self.resources, self.tasks)
            except DATABASE_ERRORS:
                log.exception("jobs.reap_failed")
            await asyncio.sleep(max(lease / 2, 0.5))
