"""The Celery app of the distributed mode. Celery only delivers "job X is ready".

The jobs table stays the source of truth. A delivery claims exactly its job under a lease,
through the same code as the embedded runner (`jobs/execution.py`), so a duplicate or late
message is a no-op, and a lost one is harmless: its job is still queued in the database and
a sweeper (`jobs/dispatch.py`) publishes it again.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from collections.abc import Callable
from multiprocessing.process import AuthenticationString  # type: ignore[attr-defined]
from typing import Any

import structlog
from celery import Celery
from celery.signals import setup_logging, worker_process_init, worker_process_shutdown

from lexbase.core.config import Settings
from lexbase.core.db import DATABASE_ERRORS
from lexbase.jobs.dispatch import QUEUE, RUN_JOB, Publisher
from lexbase.jobs.execution import JobExecutor, Outcome
from lexbase.jobs.registry import TaskRegistry
from lexbase.providers.llm import traces as llm_traces
from lexbase.providers.resources import open_resources

# Builds the task registry inside each worker process (a module-level function: the sweeper
# is spawned, and its arguments are pickled).
TaskFactory = Callable[[], TaskRegistry]

log = structlog.get_logger(__name__)


def create_celery_app(settings: Settings, tasks: TaskFactory | None = None) -> Celery:
    """The app publishers send through; with `tasks` (a worker's), also the per-process job
    state of a `lexbase worker` (created in each pool process, closed when it exits)."""
    app = Celery("lexbase", broker=settings.resolved_celery_broker_url, set_as_current=False)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_serializer="json",
        accept_content=["json"],
        result_serializer="json",
        task_ignore_result=True,
        task_default_queue=QUEUE,
        enable_utc=True,
        timezone="UTC",
        broker_transport_options={
            # Must outlast a job's lease: a message redelivered while its job still runs is
            # a no-op, but one redelivered every few seconds would be noise.
            "visibility_timeout": settings.celery_visibility_timeout_seconds,
        },
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,  # a worker waits out a Redis outage
        broker_connection_timeout=2.0,
        # Publishing gives up quickly: the job is safe in the database either way.
        task_publish_retry_policy={
            "max_retries": 2,
            "interval_start": 0.2,
            "interval_step": 0.5,
            "interval_max": 1.0,
        },
        # A task running when Redis goes away keeps running: its outcome goes to the database,
        # and a message that cannot be acknowledged is at worst delivered once more.
        worker_cancel_long_running_tasks_on_connection_loss=False,
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
        worker_send_task_events=False,
    )
    if tasks is None:
        return app
    processes = ProcessJobs(settings, app, tasks)
    app.task(name=RUN_JOB, acks_late=True, reject_on_worker_lost=True, ignore_result=True)(
        processes.run_job
    )
    worker_process_init.connect(processes.open, weak=False)
    worker_process_shutdown.connect(processes.close, weak=False)
    setup_logging.connect(_keep_our_logging, weak=False)
    return app


def _keep_our_logging(**_: Any) -> None:
    """Connected so Celery leaves the logging that `lexbase` configured alone."""


class ProcessJobs:
    """What one worker pool process holds: an event loop, its own Resources (engine, process
    pool for CPU stages, blob store) and a publisher for retries."""

    def __init__(self, settings: Settings, app: Celery, tasks: TaskFactory) -> None:
        self.settings = settings
        self.app = app
        self.tasks = tasks
        self._current: _JobProcess | None = None

    def open(self, **_: Any) -> _JobProcess:
        self._current = _JobProcess(self.settings, self.app, self.tasks())
        return self._current

    def close(self, **_: Any) -> None:
        current, self._current = self._current, None
        if current is not None:
            current.close()

    def run_job(self, job_id: str) -> None:
        # Opened lazily too, for pools without process signals (`--pool solo`).
        (self._current or self.open()).run(job_id)


class _JobProcess:
    def __init__(self, settings: Settings, app: Celery, tasks: TaskRegistry) -> None:
        _allow_child_processes()
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        # This process runs one job at a time, and a job one stage call at a time: one stage
        # process is all it can use (parallelism comes from the worker's concurrency).
        self.resources = open_resources(settings.model_copy(update={"worker_processes": 1}))
        if settings.worker_warm_up:
            self.loop.run_until_complete(tasks.warm(self.resources))
            log.info("worker.process_warm")
        self.executor = JobExecutor(self.resources, tasks)
        self.publisher = Publisher(app, settings)

    def run(self, job_id: str) -> None:
        # This message arrived: should the job end up queued again, a sweeper may publish it.
        self.publisher.forget(job_id)
        outcome = self.loop.run_until_complete(self._run(job_id))
        if outcome is not None and outcome.retry_in is not None:
            # Due after its backoff; if this publish fails, a sweeper publishes it then.
            self.publisher.publish_quietly([job_id], countdown=outcome.retry_in)

    async def _run(self, job_id: str) -> Outcome | None:
        try:
            job = await self.executor.claim(job_id)
        except DATABASE_ERRORS:
            log.warning("job.claim_failed", job_id=job_id)  # still queued; published again
            return None
        if job is None:
            log.info("job.not_claimed", job_id=job_id)  # running elsewhere, done, or not due
            return None
        try:
            return await self.executor.execute(job)
        except DATABASE_ERRORS:
            # The outcome could not be recorded; the lease expires and the reaper re-queues it.
            log.exception("job.outcome_not_recorded", job_id=job_id)
            return None

    def close(self) -> None:
        self.publisher.close()
        self.loop.run_until_complete(self.resources.close())
        self.loop.close()
        llm_traces.shutdown()  # what this process's model calls queued for Langfuse


def _allow_child_processes() -> None:
    """Billiard installs each pool process as the standard library's current process too: a
    daemonic one, with a key only billiard can pickle, so the CPU stages' process pool could
    not start. This process closes that pool itself when it exits (worker_process_shutdown)."""
    config: dict[str, Any] = multiprocessing.current_process()._config  # type: ignore[attr-defined]
    config["daemon"] = False
    config["authkey"] = AuthenticationString(bytes(config["authkey"]))
