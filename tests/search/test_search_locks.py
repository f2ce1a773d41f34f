"""A search is a read: while one runs, writers (ingestion, logins) are not kept waiting on
SQLite's single write lock."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import text

from lexbase.app import create_app
from lexbase.core.db import transaction
from lexbase.core.principal import Principal
from lexbase.search.schemas import SearchRequest, SearchResponse
from lexbase.search.service import SearchService
from tests.conftest import SettingsFactory, running
from tests.factories import Tenant


async def test_a_search_request_holds_no_write_lock(
    make_settings: SettingsFactory, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = create_app(make_settings())
    search = SearchService.search
    writes: list[float] = []

    async def write_then_search(
        self: SearchService, principal: Principal, request: SearchRequest
    ) -> SearchResponse:
        # A writer elsewhere in the process, while this request is in flight: with the write
        # lock held by the request it would wait out the busy timeout and fail.
        begun = time.monotonic()
        async with transaction(app.state.resources.write_sessionmaker) as session:
            await session.execute(
                text("UPDATE organizations SET name = name WHERE id = :id"),
                {"id": principal.organization_id},
            )
        writes.append(time.monotonic() - begun)
        return await search(self, principal, request)

    monkeypatch.setattr(SearchService, "search", write_then_search)
    async with running(app) as c:
        response = await c.post(
            "/api/v1/search", headers=tenant["paralegal"].headers, json={"query": "indemnity"}
        )
    assert response.status_code == 200, response.text
    assert response.json()["results"] == []
    assert len(writes) == 1
    assert writes[0] < 2.0
