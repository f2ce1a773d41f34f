"""Everything the app holds open, created and closed by the lifespan (never at import time)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import structlog
from limits.aio.storage import Storage
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from lexbase.core.config import Settings
from lexbase.core.db import create_engine, create_sessionmaker
from lexbase.core.events import EVENT_BUS_INFO, EventBus, InProcessEventBus, RedisEventBus
from lexbase.core.processes import ProcessPool
from lexbase.core.ratelimit import create_storage
from lexbase.core.security import PasswordHashing
from lexbase.providers.base import BlobStore
from lexbase.providers.blobstores.local import LocalBlobStore

log = structlog.get_logger(__name__)


@dataclass
class Resources:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    write_sessionmaker: async_sessionmaker[AsyncSession]
    # Reads of one statement each, or of several that need no shared snapshot (search).
    statement_reads: async_sessionmaker[AsyncSession]
    blobs: BlobStore
    redis: Redis | None
    rate_limit_storage: Storage
    processes: ProcessPool
    events: EventBus
    passwords: PasswordHashing
    # Called after a transaction that enqueued jobs commits; the runner replaces it.
    notify_jobs: Callable[[], None] = field(default=lambda: None)

    async def close(self) -> None:
        self.passwords.close()
        await self.events.close()
        await self.processes.close()
        await self.blobs.close()
        if self.redis is not None:
            await self.redis.aclose()
        await self.engine.dispose()


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
    info = {EVENT_BUS_INFO: events}
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
    log.info(
        "resources.opened",
        database=engine.dialect.name,
        blobs=resources.blobs.name,
        redis=redis is not None,
    )
    return resources
