"""Interfaces at the edges. Each has implementations chosen by configuration (the blob
store's, which the core `Resources` holds, is `lexbase.core.blobs.BlobStore`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
from numpy.typing import NDArray


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
