"""HTTP routes of search and citations (API.md: Search and citations)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from lexbase.analytics.models import SEARCH
from lexbase.analytics.service import record_usage
from lexbase.auth.deps import Reader
from lexbase.core.db import transaction
from lexbase.core.deps import ResourcesDep, SessionDep, SettingsDep
from lexbase.search.deps import SearchStateDep
from lexbase.search.lookup import cited_by, suggest
from lexbase.search.schemas import (
    CitationLookup,
    SearchRequest,
    SearchResponse,
    SuggestResponse,
)
from lexbase.search.service import SearchService

router = APIRouter(tags=["search"])


@router.post("/search", response_model=SearchResponse)
async def search(
    body: SearchRequest,
    principal: Reader,
    resources: ResourcesDep,
    settings: SettingsDep,
    state: SearchStateDep,
) -> SearchResponse:
    # No request-wide session: the service opens a short read-only one per query it runs,
    # and the search is counted in a short write of its own once it has answered.
    found = await SearchService(resources.statement_reads, settings, state).search(principal, body)
    async with transaction(resources.write_sessionmaker) as session:
        await record_usage(session, principal.organization_id, principal.user_id, SEARCH)
    return found


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
