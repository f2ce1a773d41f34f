"""`lexbase worker`: a Celery worker for the distributed mode, plus its sweeper.

The sweeper runs in a spawned process of its own (never forked into the pool, never sharing
its connections): it returns jobs whose lease expired to the queue, then publishes due jobs
whose message was lost (a Redis restart) or never sent (Redis was down when the API committed
them). Every worker runs one; leases and the publisher's markers make that safe.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import multiprocessing
import os
import signal
import socket
from multiprocessing.process import BaseProcess
from typing import Any

import structlog
from celery.signals import worker_ready

from lexbase.core.config import Settings
from lexbase.core.logging import configure_logging
from lexbase.core.resources import open_resources
from lexbase.jobs.celery_app import create_celery_app
from lexbase.jobs.dispatch import JobDispatcher, Publisher

log = structlog.get_logger(__name__)


def run_worker(settings: Settings, *, concurrency: int, name: str | None = None) -> int:
    """Run until SIGTERM/SIGINT (a warm shutdown: running jobs finish); the exit code."""
    importlib.import_module("lexbase.ingest.handler")  # registers the ingest job type
    # Loaded once here, so each forked pool process starts with it instead of importing it.
    importlib.import_module("lexbase.ingest.pipeline")
    app = create_celery_app(settings, worker=True)
    node = name or f"lexbase-{os.getpid()}@{socket.gethostname()}"

    def ready(**_: Any) -> None:
        log.info("worker.ready", node=node, concurrency=concurrency)

    worker_ready.connect(ready, weak=False)
    sweeper = _start_sweeper(settings)
    try:
        worker = app.Worker(
            hostname=node,
            pool_cls="prefork",
            concurrency=concurrency,
            loglevel=settings.log_level,
            optimization="fair",
            without_gossip=True,
            without_mingle=True,
            without_heartbeat=True,
            quiet=True,
        )
        worker.start()
        return int(worker.exitcode or 0)
    finally:
        _stop_sweeper(sweeper)
        log.info("worker.stopped", node=node)


def _start_sweeper(settings: Settings) -> BaseProcess:
    context = multiprocessing.get_context("spawn")
    process = context.Process(
        target=run_sweeper, args=(settings, os.getpid()), name="lexbase-sweeper", daemon=True
    )
    process.start()
    return process


def _stop_sweeper(process: BaseProcess) -> None:
    process.terminate()  # SIGTERM: it finishes its pass and closes its connections
    process.join(timeout=10)
    if process.is_alive():
        process.kill()
        process.join(timeout=5)


def run_sweeper(settings: Settings, parent_pid: int) -> None:
    configure_logging(settings.log_level, json=settings.log_json)
    asyncio.run(_sweep_until_stopped(settings, parent_pid))


async def _sweep_until_stopped(settings: Settings, parent_pid: int) -> None:
    importlib.import_module("lexbase.ingest.handler")  # registers the ingest job type
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    resources = open_resources(settings)
    publisher = Publisher(create_celery_app(settings), settings)
    dispatcher = JobDispatcher(resources, publisher, reap=True)
    log.info("jobs.sweeper_started", interval=settings.job_poll_seconds)
    try:
        # A worker killed outright cannot stop its sweeper; the sweeper notices instead.
        while not stop.is_set() and os.getppid() == parent_pid:
            await dispatcher.sweep()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=settings.job_poll_seconds)
    finally:
        publisher.close()
        publisher.app.close()
        await resources.close()
