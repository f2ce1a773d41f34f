"""Keyword candidates from the database's full-text index: FTS5 bm25 on SQLite, ts_rank
over the tsvector on PostgreSQL. Filters and scope are part of the one statement."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    Select,
    column,
    func,
    literal_column,
    select,
    table,
    text,
)
from sqlalchemy.ext.asyncio import AsyncSession

from lexbase.core.scope import unwalled_clause
from lexbase.documents.models import Chunk, Document, DocumentProfile
from lexbase.search.keyword_index import (
    chunk_index,
    organization_index_statements,
    profile_index,
)
from lexbase.search.query import ParsedQuery, fts5_match, tsquery

Ranked = list[tuple[int, float]]  # (chunk pk, score: higher is better), best first


async def keyword_candidates(
    session: AsyncSession,
    query: ParsedQuery,
    organization_id: str,
    scope: ColumnElement[bool],
    documents: ColumnElement[bool] | None,
    depth: int,
    document_ids: Sequence[str] | None = None,
) -> Ranked:
    """`scope` decides what may be returned; `organization_id` (whose index is read) and
    `document_ids` (the request's document filter, already part of `scope`) only narrow the
    index scan.
    `documents` (document-level filters) is None when there are none, which spares a join
    per matching row."""

    async def ranked(statement: Select[int, float]) -> Ranked:
        statement = statement.where(scope)
        if documents is not None:
            statement = statement.join(Document, Document.id == Chunk.document_id).where(documents)
        rows = await session.execute(statement.limit(depth))
        return [(int(pk), float(value)) for pk, value in rows]

    if session.get_bind().dialect.name == "postgresql":
        statement = _postgres(query)
        return [] if statement is None else await ranked(statement)
    match = fts5_match(query)
    if match is None or not await has_organization_index(session, organization_id):
        return []
    index = chunk_index(organization_id)
    keys = None
    if document_ids is not None:
        keys = await _key_range(session, document_ids)
        if keys is None:
            return []
    # First the organization's best rows straight from the index (a little deeper than asked),
    # then the scope and filters over those alone. That is exact whenever enough of them pass;
    # otherwise (few matches, or walls and filters hiding many) the whole match set is ranked.
    found = await ranked(_sqlite(index, match, keys, shortlist=depth * SHORTLIST_FACTOR))
    if len(found) < depth:
        found = await ranked(_sqlite(index, match, keys, shortlist=None))
    return found


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


# How much deeper than the requested depth the index's own ranking is read before scoping.
SHORTLIST_FACTOR = 2


def _sqlite(
    index: str, match: str, keys: tuple[int, int] | None, shortlist: int | None
) -> Select[int, float]:
    """The organization's own index (keyword_index.py), so only its rows are read and scored
    and bm25's statistics are its own; the scope clause still decides what is returned."""
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


async def has_organization_index(session: AsyncSession, organization_id: str) -> bool:
    """Whether the organization's SQLite keyword indexes exist (made with its first indexed
    document; before that it has nothing to find)."""
    found = await session.scalar(
        text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = :name"),
        {"name": chunk_index(organization_id)},
    )
    return found is not None


async def ensure_organization_index(session: AsyncSession, organization_id: str) -> None:
    """Create the organization's SQLite keyword indexes unless they exist (PostgreSQL keeps
    one tsvector column for every firm). Runs inside the writing transaction that stores the
    organization's first chunks, so they are indexed with them."""
    if session.get_bind().dialect.name != "sqlite":
        return
    if await has_organization_index(session, organization_id):
        return
    for statement in organization_index_statements(organization_id):
        await session.execute(text(statement))


def _postgres(query: ParsedQuery) -> Select[int, float] | None:
    ts = tsquery(query)
    if ts is None:
        return None
    tsv: ColumnElement[Any] = literal_column("chunks.tsv")
    # ts_rank with normalization 32 (rank / (rank + 1), the same order as no normalization).
    # Chosen by the CUAD eval on PostgreSQL (benchmarks/RESULTS.md): cover density
    # (ts_rank_cd) and length normalization both ranked far worse, and ts_rank_cd costs ~4x.
    score = func.ts_rank(tsv, ts, 32).cast(Float).label("score")
    return select(Chunk.pk, score).where(tsv.op("@@")(ts)).order_by(score.desc(), Chunk.pk)


async def profile_candidates(
    session: AsyncSession,
    query: ParsedQuery,
    organization_id: str,
    scope: ColumnElement[bool],
    documents: ColumnElement[bool],
    depth: int,
) -> list[tuple[str, float]]:
    """Documents whose profile (title, parties, opening text) matches, best first."""
    if session.get_bind().dialect.name == "postgresql":
        ts = tsquery(query)
        if ts is None:
            return []
        tsv: ColumnElement[Any] = literal_column("document_profiles.tsv")
        score = func.ts_rank(tsv, ts, 32).cast(Float).label("score")  # as for chunks
        statement = select(DocumentProfile.document_id, score).where(tsv.op("@@")(ts))
    else:
        match = fts5_match(query)
        if match is None or not await has_organization_index(session, organization_id):
            return []
        index = profile_index(organization_id)
        fts = table(index, column("rowid"))
        score = (-func.bm25(literal_column(index))).cast(Float).label("score")
        statement = (
            select(DocumentProfile.document_id, score)
            .select_from(fts)
            .join(DocumentProfile, DocumentProfile.pk == fts.c.rowid)
            .where(literal_column(index).op("MATCH")(match))
        )
    statement = (
        statement.join(Document, Document.id == DocumentProfile.document_id)
        .where(scope, documents)
        .order_by(score.desc(), DocumentProfile.document_id)
        .limit(depth)
    )
    rows = await session.execute(statement)
    return [(str(document_id), float(value)) for document_id, value in rows]


async def organization_rows(session: AsyncSession, organization_id: str) -> int:
    """How many of the organization's chunks no wall covers (what a word's share is measured
    against: search/terms.py)."""
    count = await session.scalar(
        select(func.count()).select_from(Chunk).where(unwalled_clause(Chunk, organization_id))
    )
    return int(count or 0)


async def term_rows(session: AsyncSession, organization_id: str, term: str, cap: int) -> int:
    """How many of the organization's chunks that no wall covers contain `term` (as the
    keyword query matches it: stemmed, a phrase if it tokenizes to several words), counted up
    to `cap`. Walled chunks never count: which words a caller's search scores must not depend
    on text the caller may not see."""
    word = ParsedQuery(term, (term,), (), ())
    matches: Select[Any]
    if session.get_bind().dialect.name == "postgresql":
        ts = tsquery(word)
        tsv: ColumnElement[Any] = literal_column("chunks.tsv")
        matches = select(literal_column("1")).where(
            unwalled_clause(Chunk, organization_id), tsv.op("@@")(ts)
        )
    else:
        if not await has_organization_index(session, organization_id):
            return 0
        index = chunk_index(organization_id)
        fts = table(index, column("rowid"))
        matches = (
            select(literal_column("1"))
            .select_from(fts)
            .join(Chunk, Chunk.pk == fts.c.rowid)
            .where(
                literal_column(index).op("MATCH")(fts5_match(word)),
                unwalled_clause(Chunk, organization_id),
            )
        )
    count = await session.scalar(select(func.count()).select_from(matches.limit(cap).subquery()))
    return int(count or 0)
