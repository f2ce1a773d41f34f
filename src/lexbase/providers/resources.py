"""Open the `Resources` a process runs on, with the providers its settings choose."""

from __future__ import annotations

from typing import Any

import structlog
from redis.asyncio import Redis

from lexbase.core.blobs import BlobStore
from lexbase.core.config import Settings
from lexbase.core.db import create_engine, create_sessionmaker
from lexbase.core.events import EVENT_BUS_INFO, EventBus, InProcessEventBus, RedisEventBus
from lexbase.core.processes import ProcessPool
from lexbase.core.ratelimit import create_storage
from lexbase.core.resources import JOB_WAKE_INFO, Resources
from lexbase.core.security import PasswordHashing
from lexbase.providers.blobstores.local import LocalBlobStore

log = structlog.get_logger(__name__)


def open_blob_store(settings: Settings) -> BlobStore:
    if settings.blob_backend == "s3":
        # Imported here so the embedded mode never pays for loading boto3.
        from lexbase.providers.blobstores.s3 import S3BlobStore

        return S3BlobStore.from_settings(settings)
    return LocalBlobStore(settings.blob_dir)


def open_resources(settings: Settings) -> Resources:
    """Create the clients; connections open lazily, so a down service does not stop startup."""
    engine = create_engine(settings)
    redis = Redis.from_url(settings.redis_url) if settings.redis_url else None
    events: EventBus = RedisEventBus(redis) if redis is not None else InProcessEventBus()
    info: dict[str, Any] = {EVENT_BUS_INFO: events}
    resources = Resources(
        settings=settings,
        engine=engine,
        sessionmaker=create_sessionmaker(engine, info=info),
        write_sessionmaker=create_sessionmaker(engine, write=True, info=info),
        statement_reads=create_sessionmaker(engine, autocommit=True, info=info),
        blobs=open_blob_store(settings),
        redis=redis,
        rate_limit_storage=create_storage(settings),
        processes=ProcessPool(settings.worker_processes, settings.worker_memory_mb),
        events=events,
        passwords=PasswordHashing(settings.password_hash_threads),
    )
    # Looked up when called: the runner or dispatcher replaces `notify_jobs` once it starts.
    info[JOB_WAKE_INFO] = lambda: resources.notify_jobs()
    log.info(
        "resources.opened",
        database=engine.dialect.name,
        blobs=resources.blobs.name,
        redis=redis is not None,
    )
    return resources
