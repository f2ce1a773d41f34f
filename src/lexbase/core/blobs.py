"""The interface of blob stores (implementations in `providers/blobstores/`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Protocol


class BlobStoreUnavailable(ConnectionError):
    """The store did not answer (a network store down or unreachable): worth retrying."""


class BlobStore(Protocol):
    """Content-addressed storage of original file bytes."""

    name: str

    async def put(self, data: bytes) -> str:
        """Store bytes and return their key (the SHA-256 hex digest)."""
        ...

    async def get(self, key: str) -> bytes: ...

    async def exists(self, key: str) -> bool: ...

    async def delete(self, key: str) -> None: ...

    def scan(self) -> AsyncIterator[list[tuple[str, datetime]]]:
        """Every stored key with its last modification time, in batches."""
        ...

    async def ping(self) -> None:
        """Raise if the store cannot be written to and read from right now."""
        ...

    async def close(self) -> None: ...
