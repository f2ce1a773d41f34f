"""Search on SQLite: keyword candidates by bm25 from each organization's own FTS5 indexes
(search/keyword_index.py, revision 0011), vector candidates by an exact search over the
organization's vectors held in memory (search/memory_vectors.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Float, Select, column, func, literal_column, select, table, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from lexbase.core.scope import unwalled_clause
from lexbase.documents.models import Chunk, Document, DocumentProfile
from lexbase.search.filters import CandidateFilter
from lexbase.search.keyword_index import (
    chunk_index,
    organization_index_statements,
    profile_index,
)
from lexbase.search.memory_vectors import MemoryVectorIndex
from lexbase.search.query import ParsedQuery, fts5_match
from lexbase.search.repository import Ranked, SearchRepository, candidate_clause, document_clause

# How much deeper than the requested depth the index's own ranking is read before scoping.
SHORTLIST_FACTOR = 2


class SQLiteSearchIndex(SearchRepository):
    """`vectors` holds the organizations' vectors between requests (one per process, owned
    with the rest of search's state by the app's lifespan)."""

    def __init__(self) -> None:
        self.vectors = MemoryVectorIndex()

    async def prepare_organization(self, session: AsyncSession, organization_id: str) -> None:
        """Create the organization's keyword indexes unless they exist. Runs inside the
        writing transaction that stores the organization's first chunks, so they are indexed
        with them."""
        if await _has_organization_index(session, organization_id):
            return
        for statement in organization_index_statements(organization_id):
            await session.execute(text(statement))

    async def prepare_vectors(self, engine: AsyncEngine, model: str, dimensions: int) -> None:
        """Nothing to make: vectors are searched in memory, loaded on first use."""

    async def keyword_candidates(
        self, session: AsyncSession, query: ParsedQuery, where: CandidateFilter, depth: int
    ) -> Ranked:
        """The organization's index is read (so only its rows are scored, with its own bm25
        statistics) and, with a document filter, only the stretch of keys those documents'
        chunks span; the scope clause decides what is returned."""
        match = fts5_match(query)
        if match is None or not await _has_organization_index(session, where.organization_id):
            return []
        index = chunk_index(where.organization_id)
        keys = None
        if where.document_ids is not None:
            keys = await _key_range(session, where.document_ids)
            if keys is None:
                return []

        async def ranked(shortlist: int | None) -> Ranked:
            statement = _matches(index, match, keys, shortlist).where(candidate_clause(where))
            if not where.documents.is_empty:  # no filters on documents spare a join per match
                statement = statement.join(Document, Document.id == Chunk.document_id).where(
                    document_clause(where.documents)
                )
            rows = await session.execute(statement.limit(depth))
            return [(int(pk), float(value)) for pk, value in rows]

        # First the organization's best rows straight from the index (a little deeper than
        # asked), then the scope and filters over those alone. That is exact whenever enough of
        # them pass; otherwise (few matches, or walls and filters hiding many) the whole match
        # set is ranked.
        found = await ranked(depth * SHORTLIST_FACTOR)
        if len(found) < depth:
            found = await ranked(None)
        return found

    async def profile_candidates(
        self, session: AsyncSession, query: ParsedQuery, where: CandidateFilter, depth: int
    ) -> list[tuple[str, float]]:
        match = fts5_match(query)
        if match is None or not await _has_organization_index(session, where.organization_id):
            return []
        index = profile_index(where.organization_id)
        fts = table(index, column("rowid"))
        score = (-func.bm25(literal_column(index))).cast(Float).label("score")
        statement = (
            select(DocumentProfile.document_id, score)
            .select_from(fts)
            .join(DocumentProfile, DocumentProfile.pk == fts.c.rowid)
            .where(literal_column(index).op("MATCH")(match))
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
        return await self.vectors.candidates(session, vector, model, where, depth)

    async def term_rows(
        self, session: AsyncSession, organization_id: str, term: str, cap: int
    ) -> int:
        """How many of the organization's chunks that no wall covers contain `term` (as the
        keyword query matches it: stemmed, a phrase if it tokenizes to several words),
        counted up to `cap`. Walled chunks never count: which words a caller's search scores
        must not depend on text the caller may not see."""
        if not await _has_organization_index(session, organization_id):
            return 0
        index = chunk_index(organization_id)
        fts = table(index, column("rowid"))
        matches: Select[Any] = (
            select(literal_column("1"))
            .select_from(fts)
            .join(Chunk, Chunk.pk == fts.c.rowid)
            .where(
                literal_column(index).op("MATCH")(fts5_match(ParsedQuery(term, (term,), (), ()))),
                unwalled_clause(Chunk, organization_id),
            )
        )
        count = await session.scalar(
            select(func.count()).select_from(matches.limit(cap).subquery())
        )
        return int(count or 0)


async def _has_organization_index(session: AsyncSession, organization_id: str) -> bool:
    """Whether the organization's keyword indexes exist (made with its first indexed
    document; before that it has nothing to find)."""
    found = await session.scalar(
        text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = :name"),
        {"name": chunk_index(organization_id)},
    )
    return found is not None


async def _key_range(session: AsyncSession, document_ids: Sequence[str]) -> tuple[int, int] | None:
    """The span of chunk keys the documents' chunks lie in. A document's chunks are written
    in one transaction, so their keys are consecutive and FTS5 reads only that stretch of
    each posting list. Only a bound for the scan: the scope clause decides which rows count
    (which is also why no tenant condition is needed here; with one, SQLite would walk the
    tenant's index instead of the documents')."""
    low, high = (
        await session.execute(
            select(func.min(Chunk.pk), func.max(Chunk.pk)).where(
                Chunk.document_id.in_(document_ids)
            )
        )
    ).one()
    return None if low is None else (int(low), int(high))


def _matches(
    index: str, match: str, keys: tuple[int, int] | None, shortlist: int | None
) -> Select[int, float]:
    """The chunks matching in the organization's index, best first; `shortlist` caps how
    many of the index's best rows are read."""
    fts = table(index, column("rowid"))
    # bm25() is lower for better matches; negate so every retriever ranks "higher is better".
    bm25 = (-func.bm25(literal_column(index))).cast(Float)
    matches = (
        select(fts.c.rowid.label("pk"), bm25.label("score"))
        .where(literal_column(index).op("MATCH")(match))
        .order_by(bm25.desc(), fts.c.rowid)
    )
    if keys is not None:
        matches = matches.where(fts.c.rowid.between(*keys))
    if shortlist is not None:
        matches = matches.limit(shortlist)
    best = matches.subquery("matches")
    return (
        select(Chunk.pk, best.c.score)
        .select_from(best)
        .join(Chunk, Chunk.pk == best.c.pk)
        .order_by(best.c.score.desc(), Chunk.pk)
    )
