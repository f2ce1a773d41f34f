"""The column type that holds a chunk's embedding on either database.

PostgreSQL stores a pgvector `vector` (dimension left open so one column serves any model;
the HNSW index is an expression index that casts to the model's dimension). SQLite stores the
little-endian float32 bytes, which load straight into numpy without a copy per element.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from pgvector.sqlalchemy import VECTOR
from sqlalchemy import LargeBinary
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

FLOAT32 = np.dtype("<f4")


class EmbeddingVector(TypeDecorator[NDArray[np.float32]]):
    impl = LargeBinary
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(VECTOR())
        return dialect.type_descriptor(LargeBinary())

    def process_bind_param(self, value: NDArray[np.float32] | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        array = np.asarray(value, dtype=FLOAT32)
        if array.ndim != 1 or not np.isfinite(array).all():
            raise ValueError("an embedding is a one-dimensional vector of finite numbers")
        if dialect.name == "postgresql":
            return array  # the `vector` type's own bind processor formats it
        return array.tobytes()

    def process_result_value(self, value: Any, dialect: Dialect) -> NDArray[np.float32] | None:
        if value is None:
            return None
        if dialect.name == "postgresql":
            return np.asarray(value, dtype=FLOAT32)  # already parsed by the `vector` type
        return np.frombuffer(value, dtype=FLOAT32)
