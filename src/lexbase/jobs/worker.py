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
import shutil
import signal
import socket
import tempfile
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

import structlog
from celery.signals import worker_ready
from prometheus_client import start_http_server
from redis.exceptions import RedisError

from lexbase.core import sentry, tracing
from lexbase.core.config import Settings
from lexbase.core.logging import configure_logging
from lexbase.core.metrics import enable_multiprocess, multiprocess_registry
from lexbase.core.resources import Resources
from lexbase.jobs import presence
from lexbase.jobs.celery_app import TaskFactory, create_celery_app
from lexbase.jobs.dispatch import JobDispatcher, Publisher
from lexbase.jobs.registry import TaskRegistry
from lexbase.jobs.repository import JobRepository
from lexbase.providers.llm import traces as llm_traces
from lexbase.providers.resources import open_resources

log = structlog.get_logger(__name__)


def run_worker(
    settings: Settings, tasks: TaskFactory, *, concurrency: int, name: str | None = None
) -> int:
    """Run until SIGTERM/SIGINT (a warm shutdown: running jobs finish); the exit code. A
    worker that lacks a handler for a job type in use refuses to start (exit code 3): it
    would fail those jobs (an older worker beside a newer API, say)."""
    missing = asyncio.run(_missing_handlers(settings, tasks()))
    if missing:
        log.error("worker.unknown_job_types", job_types=sorted(missing))
        return 3
    # Loaded once here, so each forked pool process starts with it instead of importing it.
    importlib.import_module("lexbase.ingest.pipeline")
    node = name or f"lexbase-{os.getpid()}@{socket.gethostname()}"
    # Before the pool forks: its processes' metrics go to files this process serves summed,
    # and they inherit the tracer provider (its exporter's thread restarts in each fork).
    tracing.configure(settings)
    sentry.configure(settings)
    llm_traces.configure(settings)
    # In the data directory, not the temp dir: a full temp disk must not break the metrics'
    # memory-mapped files (a write to one on a full disk kills the process).
    run_dir = settings.data_dir / "run"
    run_dir.mkdir(parents=True, exist_ok=True)
    metrics_dir = Path(tempfile.mkdtemp(prefix="worker-metrics-", dir=run_dir))
    enable_multiprocess(metrics_dir)
    _serve_metrics(settings, metrics_dir)
    app = create_celery_app(settings, tasks)

    def ready(**_: Any) -> None:
        log.info("worker.ready", node=node, concurrency=concurrency)

    worker_ready.connect(ready, weak=False)
    sweeper = _start_sweeper(settings, tasks, node)
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
        shutil.rmtree(metrics_dir, ignore_errors=True)
        log.info("worker.stopped", node=node)


def _serve_metrics(settings: Settings, metrics_dir: Path) -> None:
    """Serve the pool processes' summed metrics over HTTP (a daemon thread of this process),
    when a port is set."""
    port = settings.worker_metrics_port
    if not port:
        return
    try:
        start_http_server(
            port, addr=settings.worker_metrics_host, registry=multiprocess_registry(metrics_dir)
        )
    except OSError as exc:  # a port taken is not worth refusing to run jobs over
        log.warning("worker.metrics_unavailable", port=port, error=str(exc))
        return
    log.info("worker.metrics_serving", host=settings.worker_metrics_host, port=port)


async def _missing_handlers(settings: Settings, tasks: TaskRegistry) -> set[str]:
    resources = open_resources(settings)
    try:
        async with resources.sessionmaker() as session:
            in_use = await JobRepository(session).types_in_use()
    finally:
        await resources.close()
    return set(in_use) - set(tasks.types)


def _start_sweeper(settings: Settings, tasks: TaskFactory, node: str) -> BaseProcess:
    context = multiprocessing.get_context("spawn")
    process = context.Process(
        target=run_sweeper,
        args=(settings, tasks, os.getpid(), node),
        name="lexbase-sweeper",
        daemon=True,
    )
    process.start()
    return process


def _stop_sweeper(process: BaseProcess) -> None:
    process.terminate()  # SIGTERM: it finishes its pass and closes its connections
    process.join(timeout=10)
    if process.is_alive():
        process.kill()
        process.join(timeout=5)


def run_sweeper(settings: Settings, tasks: TaskFactory, parent_pid: int, node: str) -> None:
    configure_logging(settings.log_level, json=settings.log_json)
    asyncio.run(_sweep_until_stopped(settings, tasks(), parent_pid, node))


async def _sweep_until_stopped(
    settings: Settings, tasks: TaskRegistry, parent_pid: int, node: str
) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    resources = open_resources(settings)
    publisher = Publisher(create_celery_app(settings), settings)
    dispatcher = JobDispatcher(resources, publisher, reap=tasks)
    log.info("jobs.sweeper_started", interval=settings.job_poll_seconds)
    try:
        # A worker killed outright cannot stop its sweeper; the sweeper notices instead.
        while not stop.is_set() and os.getppid() == parent_pid:
            await _announce(resources, node)
            await dispatcher.sweep()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=settings.job_poll_seconds)
    finally:
        if resources.redis is not None:
            with contextlib.suppress(RedisError, OSError):
                await presence.withdraw(resources.redis, node)
        publisher.close()
        publisher.app.close()
        await resources.close()


async def _announce(resources: Resources, node: str) -> None:
    """This worker is alive (counted by `/metrics` and `/health/detailed`)."""
    if resources.redis is None:
        return
    try:
        ttl = presence.ttl_seconds(resources.settings.job_poll_seconds)
        await presence.announce(resources.redis, node, ttl)
    except (RedisError, OSError) as exc:  # Redis down: the sweep still runs
        log.warning("worker.announce_failed", error_type=type(exc).__name__)
