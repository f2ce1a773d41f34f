"""SQLite's vector search: exact cosine search over each organization's vectors held in memory
(numpy), refreshed from the database when its chunks change.

Scope and filters are applied as a mask over the rows, translated from the same
`CandidateFilter` the SQL queries use and computed at query time (walls and filters are never
cached); the rows returned are checked against the scope again when they are fetched.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from lexbase.core.scope import visible_matter_ids
from lexbase.documents.models import Chunk, Document
from lexbase.matters.models import Matter
from lexbase.search.filters import CandidateFilter
from lexbase.search.keyword_index import REVISION_SQL
from lexbase.search.repository import Ranked, document_clause


@dataclass
class _Shard:
    """One organization's vectors of one model."""

    pks: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    documents: NDArray[np.int32] = field(default_factory=lambda: np.zeros(0, np.int32))
    matters: NDArray[np.int32] = field(default_factory=lambda: np.zeros(0, np.int32))
    matrix: NDArray[np.float32] | None = None
    document_codes: dict[str, int] = field(default_factory=dict)
    matter_codes: dict[str | None, int] = field(default_factory=lambda: {None: -1})
    signature: tuple[object, ...] = ()
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def code(self, table: dict[str, int], value: str) -> int:
        return table.setdefault(value, len(table))


class MemoryVectorIndex:
    """Exact cosine search over in-memory copies of the organizations' vectors."""

    def __init__(self) -> None:
        self._shards: dict[tuple[str, str], _Shard] = {}

    async def candidates(
        self,
        session: AsyncSession,
        vector: NDArray[np.float32],
        model: str,
        where: CandidateFilter,
        depth: int,
    ) -> Ranked:
        shard = self._shards.setdefault((where.organization_id, model), _Shard())
        connection = await session.connection()
        async with shard.lock:
            await _refresh(connection, shard, where.organization_id, model)
            mask = await _mask(connection, shard, where)
            matrix, pks = shard.matrix, shard.pks
        if matrix is None or len(pks) == 0:
            return []
        if mask is not None:
            matrix, pks = matrix[mask], pks[mask]
            if len(pks) == 0:
                return []
        if matrix.shape[1] != vector.shape[0]:
            return []
        scores = await asyncio.to_thread(np.dot, matrix, vector)
        if len(scores) > depth:
            top = np.argpartition(-scores, depth - 1)[:depth]
        else:
            top = np.arange(len(scores))
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(pks[i]), float(scores[i])) for i in top]


async def _signature(connection: AsyncConnection, organization_id: str) -> tuple[object, ...]:
    """The organization's chunk revision (migration 0010): it changes in the same transaction
    as any insert, deletion, move or re-embedding of one of its chunks."""
    revision = await connection.scalar(
        text(REVISION_SQL),
        {"organization": organization_id},
    )
    return (0 if revision is None else int(revision),)


async def _refresh(
    connection: AsyncConnection, shard: _Shard, organization_id: str, model: str
) -> None:
    signature = await _signature(connection, organization_id)
    if signature == shard.signature:
        return
    # Any change (new, deleted, re-indexed or moved chunks) reloads the organization's rows;
    # reading them is a scan of one column set, and it happens once per change, not per query.
    rows = (
        await connection.execute(
            select(Chunk.pk, Chunk.document_id, Chunk.matter_id, Chunk.embedding)
            .where(
                Chunk.organization_id == organization_id,
                Chunk.embedding_model == model,
                Chunk.embedding.is_not(None),
            )
            .order_by(Chunk.pk)
        )
    ).all()
    fresh = _Shard(lock=shard.lock)
    if rows:
        fresh.pks = np.fromiter((r[0] for r in rows), np.int64, len(rows))
        fresh.documents = np.fromiter(
            (fresh.code(fresh.document_codes, r[1]) for r in rows), np.int32, len(rows)
        )
        fresh.matters = np.fromiter(
            (-1 if r[2] is None else fresh.code(fresh.matter_codes, r[2]) for r in rows),  # type: ignore[arg-type]
            np.int32,
            len(rows),
        )
        fresh.matrix = np.vstack([r[3] for r in rows if r[3] is not None]).astype(
            np.float32, copy=False
        )
    shard.pks, shard.documents, shard.matters, shard.matrix = (
        fresh.pks,
        fresh.documents,
        fresh.matters,
        fresh.matrix,
    )
    shard.document_codes, shard.matter_codes = fresh.document_codes, fresh.matter_codes
    shard.signature = signature


async def _mask(
    connection: AsyncConnection, shard: _Shard, where: CandidateFilter
) -> NDArray[np.bool_] | None:
    """The rows `where` lets through, or None for all of them: the walls the caller may not
    see through, the matter and documents (which every row carries), and the document-level
    filters (resolved to the documents that pass them)."""
    mask: NDArray[np.bool_] | None = None

    def narrow(condition: NDArray[np.bool_]) -> None:
        nonlocal mask
        mask = condition if mask is None else mask & condition

    principal = where.principal
    if not principal.is_admin:
        hidden = await connection.scalars(
            select(Matter.id).where(
                Matter.organization_id == principal.organization_id,
                Matter.id.not_in(visible_matter_ids(principal)),
            )
        )
        codes = [shard.matter_codes[m] for m in hidden if m in shard.matter_codes]
        if codes:
            narrow(~np.isin(shard.matters, codes))
    if where.matter_id is not None:
        narrow(shard.matters == shard.matter_codes.get(where.matter_id, -2))
    if where.document_ids is not None:
        codes = [shard.document_codes[d] for d in where.document_ids if d in shard.document_codes]
        narrow(np.isin(shard.documents, codes))
    if not where.documents.is_empty:
        allowed = await connection.scalars(
            select(Document.id).where(
                Document.organization_id == principal.organization_id,
                document_clause(where.documents),
            )
        )
        codes = [shard.document_codes[d] for d in allowed if d in shard.document_codes]
        narrow(np.isin(shard.documents, codes))
    return mask
