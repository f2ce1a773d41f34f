"""Everything the app holds open, created and closed by the lifespan (never at import time).
`lexbase.providers.resources.open_resources` makes one from settings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import structlog
from limits.aio.storage import Storage
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from lexbase.core.blobs import BlobStore
from lexbase.core.config import Settings
from lexbase.core.events import EventBus
from lexbase.core.processes import ProcessPool
from lexbase.core.security import PasswordHashing

log = structlog.get_logger(__name__)

# Sessions made by the lifespan's sessionmakers carry, under this key, what wakes the job
# runner (or dispatcher) once a transaction that enqueued jobs commits (jobs/service.py).
JOB_WAKE_INFO = "lexbase_job_wake"


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
