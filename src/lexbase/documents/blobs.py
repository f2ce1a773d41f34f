"""When stored file bytes may go: never while a document or an unfinished upload needs them.

Blobs are content-addressed, so identical files share one, and an upload of some bytes can
race the deletion of a document with the same bytes. The protocol:

- an upload pins the key (a committed `blob_pins` row) *before* writing the bytes, and
  releases its pin once its own transaction has ended, committed or not;
- releasing — after an upload, after a document is deleted, or by the sweeper — takes the
  key's lock and deletes the bytes only if no document references them and no live pin
  holds them, still inside that locked transaction.

A deletion that checks before an upload pins removes the bytes before the upload writes
them again; one that checks after sees the pin. A refused upload (409, 422) leaves nothing
behind, and the sweeper removes what a crash left: unreferenced, unpinned blobs older than
the pin lifetime.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import structlog

from lexbase.core.background import spawn
from lexbase.core.db import transaction, utcnow
from lexbase.core.resources import Resources
from lexbase.documents.models import BlobPin
from lexbase.documents.repository import BlobRepository

log = structlog.get_logger(__name__)


class BlobKeeper:
    def __init__(self, resources: Resources) -> None:
        self.resources = resources
        self.pin_lifetime = timedelta(minutes=resources.settings.blob_pin_minutes)

    async def pin(self, blob_key: str) -> str:
        """Hold `blob_key` for an upload about to write it; returns the pin's id."""
        async with transaction(self.resources.write_sessionmaker) as session:
            repository = BlobRepository(session)
            await repository.lock(blob_key)
            pin = await repository.add(
                BlobPin(blob_key=blob_key, expires_at=utcnow() + self.pin_lifetime)
            )
            return pin.id

    async def release(self, blob_key: str, pin_id: str | None = None) -> bool:
        """Drop the pin (if any) and delete the bytes unless something still needs them.
        True when the bytes were deleted."""
        async with transaction(self.resources.write_sessionmaker) as session:
            repository = BlobRepository(session)
            await repository.lock(blob_key)
            if pin_id is not None:
                await repository.unpin(pin_id)
            if await repository.needed([blob_key], utcnow()):
                return False
            # Inside the locked transaction: no upload can pin this key until it ends.
            await self.resources.blobs.delete(blob_key)
        log.info("blobs.deleted", blob_key=blob_key)
        return True

    def release_soon(self, blob_key: str, pin_id: str | None = None) -> None:
        """Release from a synchronous after-commit or after-rollback hook."""
        spawn(self._release_logged(blob_key, pin_id))

    async def _release_logged(self, blob_key: str, pin_id: str | None) -> None:
        try:
            await self.release(blob_key, pin_id)
        except Exception as exc:  # a background task: log it; the sweeper comes back for it
            log.warning("blobs.release_failed", blob_key=blob_key, error_type=type(exc).__name__)

    async def sweep(self) -> int:
        """Delete every blob that no document references and no live pin holds, if it is
        older than a pin's lifetime; drop expired pins. Returns how many blobs went."""
        now = utcnow()
        cutoff = now - self.pin_lifetime
        deleted = 0
        async with transaction(self.resources.write_sessionmaker) as session:
            await BlobRepository(session).drop_expired(now)
        async for batch in self.resources.blobs.scan():
            old = [key for key, modified in batch if modified < cutoff]
            if not old:
                continue
            async with transaction(self.resources.sessionmaker) as session:
                needed = await BlobRepository(session).needed(old, now)
            for key in old:
                if key not in needed and await self.release(key):
                    deleted += 1
        if deleted:
            log.warning("blobs.swept", deleted=deleted)
        return deleted


async def run_sweeper(resources: Resources) -> None:
    """The periodic sweep, for the lifespan to run and cancel."""
    keeper = BlobKeeper(resources)
    interval = resources.settings.blob_sweep_minutes * 60
    while True:
        await asyncio.sleep(interval)
        try:
            await keeper.sweep()
        except Exception as exc:  # the store or database is away: try again next time
            log.warning("blobs.sweep_failed", error_type=type(exc).__name__)
