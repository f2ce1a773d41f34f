"""Search on PostgreSQL: keyword candidates by ts_rank over the `tsvector` columns (GIN),
vector candidates from pgvector's HNSW index. Scope and filters are part of every statement."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray
from pgvector.sqlalchemy import VECTOR
from sqlalchemy import (
    ARRAY,
    BigInteger,
    ColumnElement,
    Float,
    Select,
    any_,
    bindparam,
    cast,
    func,
    literal,
    literal_column,
    select,
    text,
)
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from lexbase.core.scope import unwalled_clause
from lexbase.documents.models import Chunk, Document, DocumentProfile
from lexbase.search.filters import CandidateFilter
from lexbase.search.query import ParsedQuery, tsquery
from lexbase.search.repository import Ranked, SearchRepository, candidate_clause, document_clause

VECTOR_INDEX_PREFIX = "ix_chunks_embedding_"


def vector_index_name(model: str, dimensions: int) -> str:
    slug = re.sub(r"[^a-z0-9]+", "_", model.lower()).strip("_")
    return f"{VECTOR_INDEX_PREFIX}{slug}_{dimensions}"[:63]


def _rank(tsv: ColumnElement[Any], ts: ColumnElement[Any]) -> ColumnElement[float]:
    # ts_rank with normalization 32 (rank / (rank + 1), the same order as no normalization).
    # Chosen by the CUAD eval on PostgreSQL (benchmarks/RESULTS.md): cover density
    # (ts_rank_cd) and length normalization both ranked far worse, and ts_rank_cd costs ~4x.
    return func.ts_rank(tsv, ts, 32).cast(Float)


class PostgresSearchIndex(SearchRepository):
    """One `tsvector` column and one HNSW index per embedding model serve every firm."""

    def chunk_keys_in(self, keys: Sequence[int]) -> ColumnElement[bool]:
        """One array parameter: an IN list of a new length would be a new prepared statement
        (prepared and planned again) every time."""
        return Chunk.pk == any_(bindparam("chunk_keys", list(keys), type_=ARRAY(BigInteger)))

    async def prepare_organization(self, session: AsyncSession, organization_id: str) -> None:
        """Nothing to make: the generated `tsvector` columns index every firm's rows."""

    async def prepare_vectors(self, engine: AsyncEngine, model: str, dimensions: int) -> None:
        """Create the HNSW index for this model's vectors (an expression index casting the
        open-dimension column to the model's dimension), unless it exists."""
        if not re.fullmatch(r"[A-Za-z0-9._-]+", model):
            raise ValueError(f"unexpected embedding model name {model!r}")
        name = vector_index_name(model, dimensions)
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    f"CREATE INDEX IF NOT EXISTS {name} ON chunks USING hnsw "
                    f"((embedding::vector({dimensions})) vector_cosine_ops) "
                    f"WHERE embedding_model = '{model}'"
                )
            )

    async def keyword_candidates(
        self, session: AsyncSession, query: ParsedQuery, where: CandidateFilter, depth: int
    ) -> Ranked:
        ts = tsquery(query)
        if ts is None:
            return []
        tsv: ColumnElement[Any] = literal_column("chunks.tsv")
        score = _rank(tsv, ts).label("score")
        statement: Select[int, float] = (
            select(Chunk.pk, score)
            .where(tsv.op("@@")(ts), candidate_clause(where))
            .order_by(score.desc(), Chunk.pk)
        )
        if not where.documents.is_empty:  # no filters on documents spare a join per match
            statement = statement.join(Document, Document.id == Chunk.document_id).where(
                document_clause(where.documents)
            )
        rows = await session.execute(statement.limit(depth))
        return [(int(pk), float(value)) for pk, value in rows]

    async def profile_candidates(
        self, session: AsyncSession, query: ParsedQuery, where: CandidateFilter, depth: int
    ) -> list[tuple[str, float]]:
        ts = tsquery(query)
        if ts is None:
            return []
        tsv: ColumnElement[Any] = literal_column("document_profiles.tsv")
        score = _rank(tsv, ts).label("score")  # as for chunks
        statement = (
            select(DocumentProfile.document_id, score)
            .where(tsv.op("@@")(ts))
            .join(Document, Document.id == DocumentProfile.document_id)
            .where(candidate_clause(where, DocumentProfile), document_clause(where.documents))
            .order_by(score.desc(), DocumentProfile.document_id)
            .limit(depth)
        )
        rows = await session.execute(statement)
        return [(str(document_id), float(value)) for document_id, value in rows]

    async def vector_candidates(
        self,
        session: AsyncSession,
        vector: NDArray[np.float32],
        model: str,
        where: CandidateFilter,
        depth: int,
    ) -> Ranked:
        dimensions = int(vector.shape[0])
        column = cast(Chunk.embedding, VECTOR(dimensions))
        distance = column.op("<=>", return_type=Float)(
            bindparam("query_vector", vector, type_=VECTOR(dimensions))
        )
        # hnsw.iterative_scan and hnsw.ef_search come with every connection (core/db.py): with
        # iterative scans the index returns as many rows as asked for, past any it rejects.
        statement = (
            select(Chunk.pk, distance.label("distance"))
            # A literal, so the planner can match the partial index's predicate.
            .where(
                Chunk.embedding_model == literal(model, literal_execute=True),
                candidate_clause(where),
            )
            .order_by(distance)
            .limit(depth)
        )
        if not where.documents.is_empty:
            statement = statement.join(Document, Document.id == Chunk.document_id).where(
                document_clause(where.documents)
            )
        rows = (await session.execute(statement)).all()
        ranked = [(int(pk), 1.0 - float(d)) for pk, d in rows]
        # relaxed_order may return neighbours slightly out of order.
        ranked.sort(key=lambda item: item[1], reverse=True)
        return ranked

    async def term_rows(
        self, session: AsyncSession, organization_id: str, term: str, cap: int
    ) -> int:
        """How many of the organization's chunks that no wall covers contain `term` (as the
        keyword query matches it: stemmed, a phrase if it tokenizes to several words),
        counted up to `cap`. Walled chunks never count: which words a caller's search scores
        must not depend on text the caller may not see."""
        ts = tsquery(ParsedQuery(term, (term,), (), ()))
        tsv: ColumnElement[Any] = literal_column("chunks.tsv")
        matches: Select[Any] = select(literal_column("1")).where(
            unwalled_clause(Chunk, organization_id), tsv.op("@@")(ts)
        )
        count = await session.scalar(
            select(func.count()).select_from(matches.limit(cap).subquery())
        )
        return int(count or 0)
