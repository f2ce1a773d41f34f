"""HTTP routes of search and citations (API.md: Search and citations)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from lexbase.auth.deps import Reader
from lexbase.core.deps import ReadSessionDep, SessionDep, SettingsDep
from lexbase.search.lookup import cited_by, suggest
from lexbase.search.schemas import (
    CitationLookup,
    SearchRequest,
    SearchResponse,
    SuggestResponse,
)
from lexbase.search.semantic import MemoryVectorIndex
from lexbase.search.service import SearchService

router = APIRouter(tags=["search"])


def vector_index(request: Request) -> MemoryVectorIndex:
    """The process's in-memory vector index (SQLite), created with the app."""
    index: MemoryVectorIndex = request.app.state.vector_index
    return index


@router.post("/search", response_model=SearchResponse)
async def search(
    body: SearchRequest,
    principal: Reader,
    session: ReadSessionDep,
    settings: SettingsDep,
    request: Request,
) -> SearchResponse:
    return await SearchService(session, settings, vector_index(request)).search(principal, body)


@router.get("/search/suggest", response_model=SuggestResponse)
async def search_suggest(
    principal: Reader,
    session: SessionDep,
    prefix: Annotated[str, Query(min_length=2, max_length=100)],
) -> SuggestResponse:
    return await suggest(session, principal, prefix)


@router.get("/citations", response_model=CitationLookup)
async def citations(
    principal: Reader,
    session: SessionDep,
    cite: Annotated[str, Query(min_length=3, max_length=300)],
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=10_000)] = 0,
) -> CitationLookup:
    return await cited_by(session, principal, cite, limit, offset)
