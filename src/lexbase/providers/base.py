"""Interfaces at the edges. Each has implementations chosen by configuration."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Protocol

import numpy as np
from numpy.typing import NDArray


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


class Embedder(Protocol):
    """Turns texts into unit-length float32 vectors. Synchronous and CPU-bound: callers run it
    in a worker process (ingestion) or a thread (queries)."""

    name: str
    """Identifies the vector space: vectors from embedders with different names never compare."""
    version: str
    dimensions: int

    def embed_passages(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """One row per text, L2-normalized."""
        ...

    def embed_query(self, text: str) -> NDArray[np.float32]: ...
