"""What search keeps between requests in one process, and the dependency that hands it out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.engine import make_url

from lexbase.core.config import Settings
from lexbase.providers.embedders import embedder_spec
from lexbase.providers.embedders.handle import EmbedderHandle
from lexbase.search.index import SearchIndex, open_search_index
from lexbase.search.terms import TermPolicy, TermStatistics


@dataclass(frozen=True)
class SearchState:
    """Created by the app's lifespan (or by a command) and shared by its requests."""

    index: SearchIndex  # the configured database's queries (SQLite: with its vectors in memory)
    terms: TermStatistics  # cached word counts for choosing the words a keyword query scores
    embedder: EmbedderHandle  # embeds queries; made and loaded off the request path

    @classmethod
    def create(cls, settings: Settings) -> SearchState:
        # The dialect of the engine made from the same URL (core/db.py).
        index = open_search_index(make_url(settings.resolved_database_url).get_backend_name())
        return cls(
            index,
            TermStatistics(index, TermPolicy.from_settings(settings)),
            EmbedderHandle(embedder_spec(settings)),
        )


async def get_search_state(request: Request) -> SearchState:
    state: SearchState = request.app.state.search
    return state


SearchStateDep = Annotated[SearchState, Depends(get_search_state)]
