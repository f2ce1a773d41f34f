"""Interfaces at the edges. Each has implementations chosen by configuration."""

from __future__ import annotations

from typing import Protocol


class BlobStore(Protocol):
    """Content-addressed storage of original file bytes."""

    name: str

    async def put(self, data: bytes) -> str:
        """Store bytes and return their key (the SHA-256 hex digest)."""
        ...

    async def get(self, key: str) -> bytes: ...

    async def exists(self, key: str) -> bool: ...

    async def delete(self, key: str) -> None: ...

    async def ping(self) -> None:
        """Raise if the store cannot be written to and read from right now."""
        ...

    async def close(self) -> None: ...
