"""The SQL of citation lookup and suggestions (the same on both databases). Every read is
scoped to the caller (`core.scope`), so a walled or foreign document is never counted,
quoted or suggested."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Text, and_, case, cast, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from lexbase.core.principal import Principal
from lexbase.core.scope import scope_clause
from lexbase.documents.models import Chunk, Document, DocumentCitation, DocumentText
from lexbase.search.query import CitationQuery, citation_clause

CONTEXT_CHARS = 200


class LookupRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @staticmethod
    def citing(
        principal: Principal, citations: Sequence[CitationQuery], normalized: Sequence[str]
    ) -> ColumnElement[bool]:
        """The caller's citations of the authority."""
        return and_(
            scope_clause(DocumentCitation, principal),
            citation_clause(tuple(citations), list(normalized)),
        )

    async def citing_documents(
        self, principal: Principal, citing: ColumnElement[bool], limit: int, offset: int
    ) -> tuple[int, list[tuple[Document, int]]]:
        """How many of the caller's documents cite it, and a page of them (most citations
        first) with their counts."""
        counts = (
            select(DocumentCitation.document_id, func.count().label("n"))
            .where(citing)
            .group_by(DocumentCitation.document_id)
            .subquery()
        )
        total = int(
            (await self.session.execute(select(func.count()).select_from(counts))).scalar_one()
        )
        rows = await self.session.execute(
            select(Document, counts.c.n)
            .join(counts, counts.c.document_id == Document.id)
            .where(scope_clause(Document, principal))
            .order_by(counts.c.n.desc(), Document.title, Document.id)
            .limit(limit)
            .offset(offset)
        )
        return total, [(document, int(n)) for document, n in rows.all()]

    async def contexts(
        self, citing: ColumnElement[bool], document_ids: Sequence[str]
    ) -> list[tuple[DocumentCitation, str | None, int | None]]:
        """Each citation in these documents with the text around it and its page, in
        document and reading order."""
        window_start = case(
            (DocumentCitation.start > CONTEXT_CHARS, DocumentCitation.start - CONTEXT_CHARS),
            else_=0,
        )
        window = func.substr(
            DocumentText.text,
            window_start + 1,
            DocumentCitation.end - window_start + CONTEXT_CHARS,
        )
        page = (
            select(Chunk.page)
            .where(
                Chunk.document_id == DocumentCitation.document_id,
                Chunk.start <= DocumentCitation.start,
                Chunk.end > DocumentCitation.start,
            )
            .order_by(Chunk.ordinal)
            .limit(1)
            .scalar_subquery()
        )
        rows = await self.session.execute(
            select(DocumentCitation, window, page)
            .join(DocumentText, DocumentText.document_id == DocumentCitation.document_id)
            .where(citing, DocumentCitation.document_id.in_(document_ids))
            .order_by(DocumentCitation.document_id, DocumentCitation.start)
        )
        return [(citation, context, number) for citation, context, number in rows]

    async def titles(
        self, principal: Principal, patterns: Sequence[str], limit: int
    ) -> list[tuple[str, str]]:
        """(id, title) of the caller's documents whose title matches a LIKE pattern."""
        title = func.lower(Document.title)
        rows = await self.session.execute(
            select(Document.id, Document.title)
            .where(
                scope_clause(Document, principal),
                or_(*(title.like(pattern, escape="\\") for pattern in patterns)),
            )
            .order_by(Document.title)
            .limit(limit)
        )
        return [(id_, name) for id_, name in rows]

    async def metadata_mentioning(
        self, principal: Principal, lowered: str, limit: int
    ) -> list[tuple[str, dict[str, Any]]]:
        """(id, legal metadata) of the caller's documents whose metadata contains the text."""
        metadata_text = func.lower(cast(Document.legal_metadata, Text))
        rows = await self.session.execute(
            select(Document.id, Document.legal_metadata)
            .where(scope_clause(Document, principal), metadata_text.contains(lowered))
            .limit(limit)
        )
        return [(id_, metadata or {}) for id_, metadata in rows]

    async def cited_authorities(self, principal: Principal, pattern: str, limit: int) -> list[str]:
        """Normalized case and statute citations in the caller's documents matching a LIKE
        pattern, the most cited first."""
        values = await self.session.scalars(
            select(DocumentCitation.normalized)
            .where(
                scope_clause(DocumentCitation, principal),
                func.lower(DocumentCitation.normalized).like(pattern, escape="\\"),
                DocumentCitation.kind.in_(("case", "statute")),
            )
            .group_by(DocumentCitation.normalized)
            .order_by(func.count().desc(), DocumentCitation.normalized)
            .limit(limit)
        )
        return list(values)
