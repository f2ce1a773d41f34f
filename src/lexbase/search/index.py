"""The search index: the queries retrieval runs against the database (candidates, word
counts, a page of results and its facets), behind one interface with an implementation per
database (index_sqlite.py, index_postgres.py), chosen once from the database's dialect.

Candidate queries take a `CandidateFilter` (search/filters.py) and apply the caller's tenant
and walls with the request's filters inside the query, never after it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
from numpy.typing import NDArray
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from lexbase.search.filters import CandidateFilter
from lexbase.search.index_postgres import PostgresSearchIndex
from lexbase.search.index_sqlite import SQLiteSearchIndex
from lexbase.search.query import CitationQuery, ParsedQuery
from lexbase.search.repository import FacetRow, PageRow, Ranked


class SearchIndex(Protocol):
    """Each method runs in the session of the read it belongs to (search runs its reads in
    short sessions of their own, at the same time)."""

    async def prepare_organization(self, session: AsyncSession, organization_id: str) -> None:
        """Make what the organization's search needs, in the transaction storing its chunks."""
        ...

    async def prepare_vectors(self, engine: AsyncEngine, model: str, dimensions: int) -> None:
        """Make what searching this embedding model's vectors needs (at startup)."""
        ...

    async def keyword_candidates(
        self, session: AsyncSession, query: ParsedQuery, where: CandidateFilter, depth: int
    ) -> Ranked:
        """Chunks matching the query's words (any) and phrases (all), best first."""
        ...

    async def profile_candidates(
        self, session: AsyncSession, query: ParsedQuery, where: CandidateFilter, depth: int
    ) -> list[tuple[str, float]]:
        """Documents whose profile (title, parties, opening text) matches, best first."""
        ...

    async def vector_candidates(
        self,
        session: AsyncSession,
        vector: NDArray[np.float32],
        model: str,
        where: CandidateFilter,
        depth: int,
    ) -> Ranked:
        """Chunks embedded by `model` nearest to `vector` (cosine similarity), best first."""
        ...

    async def citation_candidates(
        self,
        session: AsyncSession,
        citations: Sequence[CitationQuery],
        where: CandidateFilter,
        depth: int,
    ) -> Ranked:
        """Chunks containing one of the cited authorities, most citations first."""
        ...

    async def organization_rows(self, session: AsyncSession, organization_id: str) -> int:
        """How many of the organization's chunks no wall covers."""
        ...

    async def term_rows(
        self, session: AsyncSession, organization_id: str, term: str, cap: int
    ) -> int:
        """How many of those chunks contain `term`, as keyword queries match it (up to `cap`)."""
        ...

    async def page_rows(
        self, session: AsyncSession, keys: Sequence[int], where: CandidateFilter
    ) -> dict[int, PageRow]:
        """The chunks of a page of results by key, those `where` still lets through."""
        ...

    async def facet_rows(self, session: AsyncSession, keys: Sequence[int]) -> list[FacetRow]:
        """The distinct documents of these (already scoped) chunks."""
        ...


def open_search_index(dialect: str) -> SearchIndex:
    """The index for the database whose SQLAlchemy dialect is named `dialect`."""
    if dialect == "postgresql":
        return PostgresSearchIndex()
    if dialect == "sqlite":
        return SQLiteSearchIndex()
    raise ValueError(f"no search index for the {dialect!r} database")


def session_index(session: AsyncSession) -> SearchIndex:
    """The index for the session's database, for writers outside search's state (storing an
    organization's first chunks). It keeps nothing between calls that they would need."""
    return open_search_index(session.get_bind().dialect.name)
