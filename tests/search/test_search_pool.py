"""Concurrent searches on a pool of two connections: every read a search runs takes one
connection at a time and never waits for another while holding it, so no search waits out
the pool's checkout timeout behind the others."""

from __future__ import annotations

import asyncio
import time

import pytest

from lexbase.app import create_app
from tests.conftest import SettingsFactory, running
from tests.documents.helpers import upload, wait_done
from tests.factories import Tenant
from tests.search.test_search_api import SUPPLY

pytestmark = pytest.mark.parametrize("backend", ["postgres"], indirect=True)


async def test_concurrent_searches_share_a_two_connection_pool(
    make_settings: SettingsFactory, tenant: Tenant
) -> None:
    headers = tenant["paralegal"].headers
    # Pool of one plus one overflow connection; a checkout waits at most 30 s.
    app = create_app(make_settings(database_pool_size=1))
    async with running(app) as client:
        accepted = await upload(client, headers, SUPPLY.encode(), "supply.txt")
        document_id = accepted["document"]["id"]
        assert (await wait_done(client, headers, document_id))["status"] == "indexed"
        began = time.monotonic()
        responses = await asyncio.gather(
            *(
                client.post(
                    "/api/v1/search",
                    headers=headers,
                    json={"query": "which law governs the agreement", "facets": True},
                )
                for _ in range(8)
            )
        )
        elapsed = time.monotonic() - began
    for response in responses:
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["results"][0]["document_id"] == document_id
        assert "Governing Law" in body["results"][0]["text"]
        assert body["facets"]["document_type"]
    assert elapsed < 20, elapsed
