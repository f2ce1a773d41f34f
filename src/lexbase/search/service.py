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

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from lexbase.core.config import Settings
from lexbase.core.db import transaction
from lexbase.core.metrics import work
from lexbase.core.principal import Principal
from lexbase.providers.base import Embedder
from lexbase.search.deps import SearchState
from lexbase.search.errors import SearchWarmingUp, SemanticSearchUnavailable
from lexbase.search.filters import CandidateFilter
from lexbase.search.focus import (
    MAX_FOCUS_DOCUMENTS,
    QueryParts,
    focused_documents,
    split_reference,
)
from lexbase.search.highlight import highlight
from lexbase.search.index import SearchIndex
from lexbase.search.query import ParsedQuery, parse_query
from lexbase.search.repository import FacetRow, Ranked
from lexbase.search.schemas import SearchFocus, SearchRequest, SearchResponse, SearchResult

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


def facet_counts(rows: Sequence[FacetRow]) -> dict[str, dict[str, int]]:
    """Counts of distinct documents in the match set by type, court and year."""
    counters: dict[str, Counter[str]] = {
        "document_type": Counter(),
        "court": Counter(),
        "year": Counter(),
    }
    for document_type, court, document_date in rows:
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
        self.index: SearchIndex = state.index
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
        took = time.perf_counter() - started
        work().search_latency.labels(request.mode).observe(took)
        return SearchResponse(
            results=results,
            total=len(ranked),
            facets=facets,
            took_ms=round(took * 1000, 2),
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
        where = CandidateFilter.of(principal, request.filters)

        async def profiles(session: AsyncSession) -> list[tuple[str, float]]:
            return await self.index.profile_candidates(
                session, reference, where, MAX_FOCUS_DOCUMENTS + 1
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
        where = CandidateFilter.of(principal, request.filters)
        reads: list[tuple[float, Callable[[AsyncSession], Awaitable[Ranked]]]] = []
        if request.mode in ("keyword", "hybrid"):

            async def keyword(session: AsyncSession) -> Ranked:
                words = await self._keyword_query(session, where, query)
                return await self.index.keyword_candidates(session, words, where, depth)

            reads.append((self.weights.keyword, keyword))
        if request.mode in ("semantic", "hybrid"):
            embedder = await self._query_embedder()

            async def semantic(session: AsyncSession) -> Ranked:
                vector = await asyncio.to_thread(embedder.embed_query, query.text)
                return await self.index.vector_candidates(
                    session, vector, embedder.name, where, depth
                )

            reads.append((self.weights.semantic, semantic))
        if query.citations and request.mode != "semantic":

            async def cited(session: AsyncSession) -> Ranked:
                return await self.index.citation_candidates(session, query.citations, where, depth)

            reads.append((self.weights.citation, cited))
        found = await asyncio.gather(*(self._read(read) for _, read in reads))
        lists = [(weight, ranked) for (weight, _), ranked in zip(reads, found, strict=True)]
        if len(lists) == 1:
            return lists[0][1]  # one retriever: keep its own scores
        return fuse(lists, self.weights.k)

    async def _keyword_query(
        self, session: AsyncSession, where: CandidateFilter, query: ParsedQuery
    ) -> ParsedQuery:
        """The words worth scoring (search/terms.py); all of them within chosen documents,
        whose matches are few enough to rank every word."""
        if where.document_ids is not None:
            return query
        return await self.terms.keyword_query(session, where.organization_id, query)

    async def _query_embedder(self) -> Embedder:
        """The query embedder, or an answer at once: a request never waits for the model to
        be made (up to a minute on a fresh install), only for it to load."""
        embedder = await self.embedder.get()
        if embedder is not None:
            return embedder
        if self.embedder.state == "building":
            raise SearchWarmingUp()
        raise SemanticSearchUnavailable()

    async def _page(
        self, principal: Principal, request: SearchRequest, query: ParsedQuery, ranked: Ranked
    ) -> tuple[list[SearchResult], dict[str, dict[str, int]] | None]:
        """The requested page of results and, when asked for, the facets."""
        page = ranked[request.offset : request.offset + request.limit]
        where = CandidateFilter.of(principal, request.filters)

        async def read(
            session: AsyncSession,
        ) -> tuple[list[SearchResult], dict[str, dict[str, int]] | None]:
            results = await self._results(session, where, request, query, page)
            if not request.facets:
                return results, None
            return results, facet_counts(
                await self.index.facet_rows(session, [pk for pk, _ in ranked])
            )

        # One session for both: two quick statements cost less than a second connection
        # checkout (on PostgreSQL its liveness check alone is three round trips).
        return await self._read(read)

    async def _results(
        self,
        session: AsyncSession,
        where: CandidateFilter,
        request: SearchRequest,
        query: ParsedQuery,
        page: Ranked,
    ) -> list[SearchResult]:
        rows = await self.index.page_rows(session, [pk for pk, _ in page], where)
        words, phrases = query.highlight_words(), query.phrases
        results = []
        for pk, score in page:
            row = rows.get(pk)
            if row is None:
                continue  # changed scope since the candidates were read: never shown
            results.append(
                SearchResult(
                    document_id=row.document_id,
                    chunk_id=row.chunk_id,
                    title=row.title,
                    score=round(score, 6),
                    text=row.text,
                    highlights=highlight(row.text, words, phrases) if request.highlight else [],
                    page=row.page,
                    start=row.start,
                    end=row.end,
                    section=row.section,
                    metadata={
                        "document_type": row.document_type,
                        "court": row.court,
                        "jurisdiction": row.jurisdiction,
                        "date": row.document_date.isoformat() if row.document_date else None,
                        "matter_id": row.matter_id,
                        "tags": row.tags,
                        "filename": row.filename,
                    },
                )
            )
        return results
