"""Ingestion embeds every chunk, stores the vector with its model, and records provenance."""

from __future__ import annotations

import os

import httpx
import numpy as np
from sqlalchemy import select

from lexbase.app import create_app
from lexbase.core.db import create_engine, create_sessionmaker
from lexbase.documents.models import Chunk
from lexbase.ingest.embedding import passage_text
from lexbase.providers.embedders import EmbedderSpec, get_embedder
from tests.conftest import SettingsFactory, running
from tests.documents.helpers import upload, wait_done
from tests.factories import Tenant

AGREEMENT = (
    "SUPPLY AGREEMENT\n\n"
    "1. Term. This Agreement commences on the Effective Date and continues for five years.\n\n"
    "2. Governing Law. This Agreement is governed by the laws of the State of Delaware.\n\n"
    "3. Insurance. The Supplier shall carry product liability insurance of $2,000,000.\n"
)


async def stored_chunks(make_settings: SettingsFactory, document_id: str) -> list[Chunk]:
    engine = create_engine(make_settings())
    try:
        async with create_sessionmaker(engine)() as session:
            rows = await session.scalars(
                select(Chunk).where(Chunk.document_id == document_id).order_by(Chunk.ordinal)
            )
            return list(rows)
    finally:
        await engine.dispose()


async def test_every_chunk_gets_its_vector(
    client: httpx.AsyncClient, tenant: Tenant, make_settings: SettingsFactory
) -> None:
    headers = tenant["paralegal"].headers
    accepted = await upload(client, headers, AGREEMENT.encode(), "supply.txt", title="Supply")
    document_id = accepted["document"]["id"]
    assert (await wait_done(client, headers, document_id))["status"] == "indexed"

    chunks = await stored_chunks(make_settings, document_id)
    assert chunks
    embedder = get_embedder(EmbedderSpec("model2vec", os.environ["LEXBASE_MODEL_DIR"]))
    expected = embedder.embed_passages([passage_text("Supply", c.section, c.text) for c in chunks])
    for chunk, vector in zip(chunks, expected, strict=True):
        assert chunk.embedding_model == embedder.name
        assert chunk.embedding is not None
        assert chunk.embedding.shape == (embedder.dimensions,)
        # What comes back from the database is exactly what the worker computed.
        assert np.allclose(chunk.embedding, vector, atol=1e-6)

    job_id = accepted["job_id"]
    job = (await client.get(f"/api/v1/jobs/{job_id}", headers=headers)).json()
    assert job["provenance"]["embedder"] == embedder.name
    assert job["provenance"]["embedder_version"].startswith("model2vec ")
    assert job["timings"]["embed"] >= 0


async def test_reprocess_replaces_vectors_with_the_configured_model(
    make_settings: SettingsFactory, tenant: Tenant
) -> None:
    headers = tenant["paralegal"].headers
    async with running(create_app(make_settings())) as c:
        accepted = await upload(c, headers, AGREEMENT.encode(), "supply.txt")
        document_id = accepted["document"]["id"]
        await wait_done(c, headers, document_id)
    before = await stored_chunks(make_settings, document_id)
    assert {c.embedding_model for c in before} == {"model2vec-minilm-l6-v2"}

    async with running(create_app(make_settings(embedder="minilm"))) as c:
        await c.post(f"/api/v1/documents/{document_id}/reprocess", headers=headers)
        assert (await wait_done(c, headers, document_id))["status"] == "indexed"
    after = await stored_chunks(make_settings, document_id)
    assert len(after) == len(before)
    assert {c.embedding_model for c in after} == {"all-minilm-l6-v2"}
    assert all(c.embedding is not None and c.embedding.shape == (384,) for c in after)
