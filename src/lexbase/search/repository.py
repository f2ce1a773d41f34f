"""Search's SQL that reads the same on both databases, and the translation of a
`CandidateFilter` into WHERE clauses. Each database's index (index_sqlite.py,
index_postgres.py) builds on it and adds what its own full-text and vector indexes need."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import NamedTuple

from sqlalchemy import ColumnElement, Text, and_, cast, func, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from lexbase.core.scope import scope_clause, unwalled_clause
from lexbase.documents.models import Chunk, Document, DocumentCitation, DocumentProfile
from lexbase.search.filters import CandidateFilter, DocumentFilter
from lexbase.search.query import CitationQuery, citation_clause

Ranked = list[tuple[int, float]]  # (chunk pk, score: higher is better), best first


class PageRow(NamedTuple):
    """A chunk of a page of results, with its document's fields."""

    pk: int
    chunk_id: str
    text: str
    page: int | None
    start: int
    end: int
    section: str | None
    document_id: str
    title: str
    document_type: str | None
    court: str | None
    jurisdiction: str | None
    document_date: date | None
    matter_id: str | None
    tags: list[str]
    filename: str


class FacetRow(NamedTuple):
    """A document of the match set, with the fields facets count."""

    document_type: str | None
    court: str | None
    document_date: date | None


def candidate_clause(
    where: CandidateFilter, model: type[Chunk | DocumentProfile] = Chunk
) -> ColumnElement[bool]:
    """Which chunks (or document profiles) may be returned: the tenant and wall scope plus the
    matter and document filters. Statements using it join `documents` for `document_clause`."""
    clauses = [scope_clause(model, where.principal)]
    if where.matter_id is not None:
        clauses.append(model.matter_id == where.matter_id)
    if where.document_ids is not None:
        clauses.append(model.document_id.in_(where.document_ids))
    return and_(*clauses)


def document_clause(documents: DocumentFilter) -> ColumnElement[bool]:
    """The document-level filters (type, court, jurisdiction, tags, dates)."""
    clauses: list[ColumnElement[bool]] = []
    if documents.document_type is not None:
        clauses.append(Document.document_type == documents.document_type)
    if documents.court is not None:
        clauses.append(Document.court == documents.court)
    if documents.jurisdiction is not None:
        clauses.append(Document.jurisdiction == documents.jurisdiction)
    if documents.date_from is not None:
        clauses.append(Document.document_date >= documents.date_from)
    if documents.date_to is not None:
        clauses.append(Document.document_date <= documents.date_to)
    for tag in documents.tags:
        # Tags are a small JSON list; match the serialized element exactly.
        clauses.append(func.lower(cast(Document.tags, Text)).contains(f'"{tag.lower()}"'))
    return and_(true(), *clauses)


class SearchRepository:
    """Queries shared by both databases' indexes. Every method takes the session of the read
    it belongs to: search runs its reads in short sessions of their own, at the same time."""

    def chunk_keys_in(self, keys: Sequence[int]) -> ColumnElement[bool]:
        """`chunks.pk` is one of `keys`."""
        return Chunk.pk.in_(keys)

    async def citation_candidates(
        self,
        session: AsyncSession,
        citations: Sequence[CitationQuery],
        where: CandidateFilter,
        depth: int,
    ) -> Ranked:
        """Chunks containing one of the cited authorities, most citations first."""
        hits = func.count(DocumentCitation.id).label("hits")
        statement = (
            select(Chunk.pk, hits)
            .join(Document, Document.id == Chunk.document_id)
            .join(
                DocumentCitation,
                and_(
                    DocumentCitation.document_id == Chunk.document_id,
                    DocumentCitation.start < Chunk.end,
                    DocumentCitation.end > Chunk.start,
                ),
            )
            .where(
                DocumentCitation.organization_id == Chunk.organization_id,
                citation_clause(tuple(citations), [c.normalized for c in citations]),
                candidate_clause(where),
                document_clause(where.documents),
            )
            .group_by(Chunk.pk)
            .order_by(hits.desc(), Chunk.pk)
            .limit(depth)
        )
        rows = await session.execute(statement)
        return [(int(pk), float(count)) for pk, count in rows]

    async def organization_rows(self, session: AsyncSession, organization_id: str) -> int:
        """How many of the organization's chunks no wall covers (what a word's share is
        measured against: search/terms.py)."""
        count = await session.scalar(
            select(func.count()).select_from(Chunk).where(unwalled_clause(Chunk, organization_id))
        )
        return int(count or 0)

    async def page_rows(
        self, session: AsyncSession, keys: Sequence[int], where: CandidateFilter
    ) -> dict[int, PageRow]:
        """The chunks of a page of results by key, each read with the scope applied again:
        a chunk whose scope changed since it was found is absent."""
        if not keys:
            return {}
        # Columns, not entities: a page of results should not pay for ORM identity maps.
        statement = (
            select(
                Chunk.pk,
                Chunk.id,
                Chunk.text,
                Chunk.page,
                Chunk.start,
                Chunk.end,
                Chunk.section,
                Document.id,
                Document.title,
                Document.document_type,
                Document.court,
                Document.jurisdiction,
                Document.document_date,
                Document.matter_id,
                Document.tags,
                Document.filename,
            )
            .join(Document, Document.id == Chunk.document_id)
            .where(
                self.chunk_keys_in(keys),
                candidate_clause(where),
                document_clause(where.documents),
            )
        )
        return {row[0]: PageRow._make(row) for row in await session.execute(statement)}

    async def facet_rows(self, session: AsyncSession, keys: Sequence[int]) -> list[FacetRow]:
        """The distinct documents of these chunks (already scoped: they are the match set)."""
        if not keys:
            return []
        statement = (
            select(Document.id, Document.document_type, Document.court, Document.document_date)
            .join(Chunk, Chunk.document_id == Document.id)
            .where(self.chunk_keys_in(keys))
            .distinct()
        )
        return [FacetRow._make(row[1:]) for row in await session.execute(statement)]
