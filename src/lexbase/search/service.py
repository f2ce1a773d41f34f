"""Hybrid search: keyword, vector and citation candidates fused by weighted reciprocal rank.

Every candidate query carries the caller's tenant and wall scope and the request's filters;
the page of results is fetched with the scope applied once more.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from lexbase.core.config import Settings
from lexbase.core.db import transaction
from lexbase.core.principal import Principal
from lexbase.documents.models import Chunk, Document, DocumentCitation, DocumentProfile
from lexbase.providers.base import Embedder
from lexbase.search.deps import SearchState
from lexbase.search.errors import SearchWarmingUp, SemanticSearchUnavailable
from lexbase.search.filters import (
    chunk_clause,
    chunk_keys_in,
    document_clause,
    has_document_filters,
)
from lexbase.search.focus import (
    MAX_FOCUS_DOCUMENTS,
    QueryParts,
    focused_documents,
    split_reference,
)
from lexbase.search.highlight import highlight
from lexbase.search.keyword import Ranked, keyword_candidates, profile_candidates
from lexbase.search.query import CitationQuery, ParsedQuery, citation_clause, parse_query
from lexbase.search.schemas import SearchFocus, SearchRequest, SearchResponse, SearchResult
from lexbase.search.semantic import postgres_candidates

MIN_DEPTH = 50
MAX_DEPTH = 300


@dataclass(frozen=True)
class FusionWeights:
    keyword: float
    semantic: float
    citation: float
    k: int

    @classmethod
    def from_settings(cls, settings: Settings) -> FusionWeights:
        return cls(
            settings.search_keyword_weight,
            settings.search_semantic_weight,
            settings.search_citation_weight,
            settings.search_rrf_k,
        )


def fuse(lists: Sequence[tuple[float, Ranked]], k: int) -> Ranked:
    """Weighted reciprocal rank fusion: sum of weight / (k + rank) over the lists."""
    scores: dict[int, float] = {}
    for weight, ranked in lists:
        if weight <= 0:
            continue
        for rank, (pk, _) in enumerate(ranked, start=1):
            scores[pk] = scores.get(pk, 0.0) + weight / (k + rank)
    return sorted(scores.items(), key=lambda item: (-item[1], item[0]))


T = TypeVar("T")


async def _citing_chunks(
    session: AsyncSession,
    citations: Sequence[CitationQuery],
    scope: object,
    documents: object,
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
            scope,  # type: ignore[arg-type]
            documents,  # type: ignore[arg-type]
        )
        .group_by(Chunk.pk)
        .order_by(hits.desc(), Chunk.pk)
        .limit(depth)
    )
    rows = await session.execute(statement)
    return [(int(pk), float(count)) for pk, count in rows]


async def _facets(session: AsyncSession, ranked: Ranked) -> dict[str, dict[str, int]]:
    """Counts of distinct documents in the match set by type, court and year."""
    facets: dict[str, dict[str, int]] = {"document_type": {}, "court": {}, "year": {}}
    if not ranked:
        return facets
    pks = [pk for pk, _ in ranked]
    dialect = session.get_bind().dialect.name
    statement = (
        select(Document.id, Document.document_type, Document.court, Document.document_date)
        .join(Chunk, Chunk.document_id == Document.id)
        .where(chunk_keys_in(pks, dialect))
        .distinct()
    )
    rows = (await session.execute(statement)).all()
    counters: dict[str, Counter[str]] = {name: Counter() for name in facets}
    for _, document_type, court, document_date in rows:
        counters["document_type"][document_type or "unknown"] += 1
        if court:
            counters["court"][court] += 1
        if document_date:
            counters["year"][str(document_date.year)] += 1
    return {name: dict(counter.most_common()) for name, counter in counters.items()}


class SearchService:
    """Each read runs in its own short read-only session from `readers`, so the retrievers
    wait for the database at the same time (each on its own connection; on SQLite, its own
    thread) instead of one after the other. No read holds a connection while it waits for
    another, so concurrent searches cannot starve the pool."""

    def __init__(
        self, readers: async_sessionmaker[AsyncSession], settings: Settings, state: SearchState
    ) -> None:
        self.readers = readers
        self.settings = settings
        self.vectors = state.vectors
        self.terms = state.terms
        self.embedder = state.embedder
        self.weights = FusionWeights.from_settings(settings)

    async def _read(self, read: Callable[[AsyncSession], Awaitable[T]]) -> T:
        async with transaction(self.readers) as session:
            return await read(session)

    async def search(self, principal: Principal, request: SearchRequest) -> SearchResponse:
        started = time.perf_counter()
        query = parse_query(request.query)
        focus = await self._focus(principal, request)
        ranked: Ranked = []
        if focus is not None:
            focused, parts = focus
            ranked = await self.ranked(principal, focused, parts.question)
            request, query = focused, parts.question
        if not ranked:
            focus = None
            ranked = await self.ranked(principal, request, query)
        results, facets = await self._page(principal, request, query, ranked)
        return SearchResponse(
            results=results,
            total=len(ranked),
            facets=facets,
            took_ms=round((time.perf_counter() - started) * 1000, 2),
            mode=request.mode,
            citations=[c.normalized for c in parse_query(request.query).citations],
            focus=None
            if focus is None
            else SearchFocus(
                document_ids=focus[0].filters.document_ids or [],
                reference=focus[1].reference.text,
                question=focus[1].question.text,
            ),
        )

    async def _focus(
        self, principal: Principal, request: SearchRequest
    ) -> tuple[SearchRequest, QueryParts] | None:
        """The request narrowed to the documents its reference clause names, if it has one."""
        if request.filters.document_ids is not None:
            return None  # the caller already chose the documents
        parts = split_reference(request.query)
        if parts is None:
            return None
        reference = parts.reference

        async def profiles(session: AsyncSession) -> list[tuple[str, float]]:
            return await profile_candidates(
                session,
                reference,
                principal.organization_id,
                chunk_clause(principal, request.filters, DocumentProfile),
                document_clause(request.filters),
                MAX_FOCUS_DOCUMENTS + 1,
            )

        candidates = await self._read(profiles)
        documents = focused_documents(candidates)
        if not documents:
            return None
        filters = request.filters.model_copy(update={"document_ids": documents})
        focused = request.model_copy(update={"filters": filters, "query": parts.question.text})
        return focused, parts

    async def ranked(
        self, principal: Principal, request: SearchRequest, query: ParsedQuery
    ) -> Ranked:
        """Every candidate chunk in fused order (the match set, at most MAX_DEPTH deep)."""
        depth = min(MAX_DEPTH, max(MIN_DEPTH, 3 * (request.offset + request.limit)))
        scope = chunk_clause(principal, request.filters)
        documents = document_clause(request.filters)
        reads: list[tuple[float, Callable[[AsyncSession], Awaitable[Ranked]]]] = []
        if request.mode in ("keyword", "hybrid"):

            async def keyword(session: AsyncSession) -> Ranked:
                return await keyword_candidates(
                    session,
                    await self._keyword_query(session, principal, request, query),
                    principal.organization_id,
                    scope,
                    documents if has_document_filters(request.filters) else None,
                    depth,
                    request.filters.document_ids,
                )

            reads.append((self.weights.keyword, keyword))
        if request.mode in ("semantic", "hybrid"):
            embedder = await self._query_embedder()

            async def semantic(session: AsyncSession) -> Ranked:
                return await self._semantic(session, embedder, principal, request, query, depth)

            reads.append((self.weights.semantic, semantic))
        if query.citations and request.mode != "semantic":

            async def cited(session: AsyncSession) -> Ranked:
                return await _citing_chunks(session, query.citations, scope, documents, depth)

            reads.append((self.weights.citation, cited))
        found = await asyncio.gather(*(self._read(read) for _, read in reads))
        lists = [(weight, ranked) for (weight, _), ranked in zip(reads, found, strict=True)]
        if len(lists) == 1:
            return lists[0][1]  # one retriever: keep its own scores
        return fuse(lists, self.weights.k)

    async def _keyword_query(
        self,
        session: AsyncSession,
        principal: Principal,
        request: SearchRequest,
        query: ParsedQuery,
    ) -> ParsedQuery:
        """The words worth scoring (search/terms.py); all of them within chosen documents,
        whose matches are few enough to rank every word."""
        if request.filters.document_ids is not None:
            return query
        return await self.terms.keyword_query(session, principal.organization_id, query)

    async def _query_embedder(self) -> Embedder:
        """The query embedder, or an answer at once: a request never waits for the model to
        be made (up to a minute on a fresh install), only for it to load."""
        embedder = await self.embedder.get()
        if embedder is not None:
            return embedder
        if self.embedder.state == "building":
            raise SearchWarmingUp()
        raise SemanticSearchUnavailable()

    async def _semantic(
        self,
        session: AsyncSession,
        embedder: Embedder,
        principal: Principal,
        request: SearchRequest,
        query: ParsedQuery,
        depth: int,
    ) -> Ranked:
        vector = await asyncio.to_thread(embedder.embed_query, query.text)
        if session.get_bind().dialect.name == "postgresql":
            return await postgres_candidates(
                session,
                vector,
                embedder.name,
                chunk_clause(principal, request.filters),
                document_clause(request.filters) if has_document_filters(request.filters) else None,
                depth,
            )
        return await self.vectors.candidates(
            session, principal, vector, embedder.name, request.filters, depth
        )

    async def _page(
        self, principal: Principal, request: SearchRequest, query: ParsedQuery, ranked: Ranked
    ) -> tuple[list[SearchResult], dict[str, dict[str, int]] | None]:
        """The requested page of results and, when asked for, the facets."""
        page = ranked[request.offset : request.offset + request.limit]

        async def read(
            session: AsyncSession,
        ) -> tuple[list[SearchResult], dict[str, dict[str, int]] | None]:
            results = await self._results(session, principal, request, query, page)
            return results, await _facets(session, ranked) if request.facets else None

        # One session for both: two quick statements cost less than a second connection
        # checkout (on PostgreSQL its liveness check alone is three round trips).
        return await self._read(read)

    async def _results(
        self,
        session: AsyncSession,
        principal: Principal,
        request: SearchRequest,
        query: ParsedQuery,
        page: Ranked,
    ) -> list[SearchResult]:
        if not page:
            return []
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
                chunk_keys_in([pk for pk, _ in page], session.get_bind().dialect.name),
                chunk_clause(principal, request.filters),
                document_clause(request.filters),
            )
        )
        rows = {row[0]: row for row in await session.execute(statement)}
        words, phrases = query.highlight_words(), query.phrases
        results = []
        for pk, score in page:
            if pk not in rows:
                continue  # changed scope since the candidates were read: never shown
            (
                _,
                chunk_id,
                text,
                page_number,
                start,
                end,
                section,
                document_id,
                title,
                document_type,
                court,
                jurisdiction,
                document_date,
                matter_id,
                tags,
                filename,
            ) = rows[pk]
            results.append(
                SearchResult(
                    document_id=document_id,
                    chunk_id=chunk_id,
                    title=title,
                    score=round(score, 6),
                    text=text,
                    highlights=highlight(text, words, phrases) if request.highlight else [],
                    page=page_number,
                    start=start,
                    end=end,
                    section=section,
                    metadata={
                        "document_type": document_type,
                        "court": court,
                        "jurisdiction": jurisdiction,
                        "date": document_date.isoformat() if document_date else None,
                        "matter_id": matter_id,
                        "tags": tags,
                        "filename": filename,
                    },
                )
            )
        return results
