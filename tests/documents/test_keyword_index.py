"""The database full-text index follows chunks through ingest, reprocess and deletion."""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from lexbase.core.db import create_engine
from lexbase.search.keyword_index import chunk_index
from tests.conftest import SettingsFactory
from tests.documents.helpers import upload, wait_done
from tests.factories import Tenant

MEMO = (
    "MEMORANDUM ON INDEMNIFICATION\n\n"
    "1. Indemnification. The Supplier shall indemnify the Purchaser against all claims "
    "arising under 42 U.S.C. § 1983.\n\n"
    "2. Termination. Either party may terminate this agreement on thirty days' notice.\n"
)


async def matching_chunks(
    make_settings: SettingsFactory, organization_id: str, query: str
) -> list[str]:
    """The index's hits; the SQLite integrity check is a write, tried again while the app's
    own writes (job bookkeeping, audit flushes) hold the database."""
    for _ in range(20):
        try:
            return await _matching_chunks(make_settings, organization_id, query)
        except OperationalError as exc:
            if "locked" not in str(exc):
                raise
            await asyncio.sleep(0.5)
    return await _matching_chunks(make_settings, organization_id, query)


async def _matching_chunks(
    make_settings: SettingsFactory, organization_id: str, query: str
) -> list[str]:
    engine = create_engine(make_settings())
    try:
        async with engine.connect() as conn:
            if engine.dialect.name == "postgresql":
                rows = await conn.execute(
                    text("SELECT id FROM chunks WHERE tsv @@ plainto_tsquery('english', :q)"),
                    {"q": query},
                )
            else:
                index = chunk_index(organization_id)  # the firm's own index (a checked name)
                check = f"INSERT INTO {index}({index}, rank) VALUES ('integrity-check', 1)"  # noqa: S608
                await conn.execute(text(check))
                hits = f"SELECT c.id FROM {index} JOIN chunks c ON c.pk = {index}.rowid WHERE {index} MATCH :q"  # noqa: S608, E501
                rows = await conn.execute(text(hits), {"q": query})
            return sorted(row[0] for row in rows)
    finally:
        await engine.dispose()


async def test_index_follows_the_chunks(
    client: httpx.AsyncClient, tenant: Tenant, make_settings: SettingsFactory
) -> None:
    headers = tenant["paralegal"].headers
    accepted = await upload(client, headers, MEMO.encode(), "memo.txt")
    document_id = accepted["document"]["id"]
    await wait_done(client, headers, document_id)
    chunks = (await client.get(f"/api/v1/documents/{document_id}/chunks", headers=headers)).json()
    by_id = {c["id"]: c["text"] for c in chunks["items"]}

    # Stemming: "indemnifies" finds "indemnify"/"Indemnification".
    hits = await matching_chunks(make_settings, tenant.organization_id, "indemnifies")
    assert hits
    assert all("ndemnif" in by_id[h] for h in hits)
    terminate = await matching_chunks(make_settings, tenant.organization_id, "terminate")
    assert [by_id[h] for h in terminate] == [t for t in by_id.values() if "terminate" in t]

    await client.post(f"/api/v1/documents/{document_id}/reprocess", headers=headers)
    await wait_done(client, headers, document_id)
    after = (await client.get(f"/api/v1/documents/{document_id}/chunks", headers=headers)).json()
    again = await matching_chunks(make_settings, tenant.organization_id, "terminate")
    assert len(again) == len(terminate)
    assert set(again) <= {c["id"] for c in after["items"]}

    await client.delete(f"/api/v1/documents/{document_id}", headers=headers)
    assert await matching_chunks(make_settings, tenant.organization_id, "terminate") == []
