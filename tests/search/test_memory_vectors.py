"""SQLite's in-memory vector copies follow every change to the chunks they copy: a new, moved
or deleted document shows in the very next query (the per-organization chunk revision)."""

from __future__ import annotations

import uuid

import numpy as np
import pytest
from sqlalchemy import delete, insert, text, update

from lexbase.auth.models import Organization
from lexbase.core.db import transaction
from lexbase.core.permissions import Role
from lexbase.core.principal import Principal
from lexbase.core.resources import Resources
from lexbase.documents.models import Chunk, Document
from lexbase.matters.models import Matter
from lexbase.providers.resources import open_resources
from lexbase.search.filters import CandidateFilter
from lexbase.search.memory_vectors import MemoryVectorIndex
from tests.conftest import SettingsFactory
from tests.factories import chunk_row, document_row

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)

MODEL = "test-model"


def _unit(axis: int) -> np.ndarray:
    vector = np.zeros(4, np.float32)
    vector[axis] = 1.0
    return vector


async def _add_document(resources: Resources, organization_id: str, axes: list[int]) -> set[int]:
    document = document_row(organization_id)
    async with transaction(resources.write_sessionmaker) as session:
        await session.execute(insert(Document), [document])
        await session.execute(
            insert(Chunk),
            [chunk_row(document, n, f"c{n}", _unit(a), MODEL) for n, a in enumerate(axes)],
        )
        rows = await session.execute(
            Chunk.__table__.select()
            .with_only_columns(Chunk.pk)
            .where(Chunk.document_id == document["id"])
        )
        return {pk for (pk,) in rows}


async def test_vectors_follow_new_moved_and_deleted_documents(
    make_settings: SettingsFactory,
) -> None:
    resources = open_resources(make_settings())
    firm, matter = str(uuid.uuid4()), str(uuid.uuid4())
    index = MemoryVectorIndex()
    member = Principal(user_id=str(uuid.uuid4()), organization_id=firm, role=Role.PARALEGAL)
    admin = Principal(user_id=str(uuid.uuid4()), organization_id=firm, role=Role.ADMIN)

    async def found(principal: Principal) -> set[int]:
        async with transaction(resources.sessionmaker) as session:
            ranked = await index.candidates(
                session, _unit(0), MODEL, CandidateFilter(principal), 10
            )
        return {pk for pk, _ in ranked}

    try:
        async with transaction(resources.write_sessionmaker) as session:
            await session.execute(insert(Organization), [{"id": firm, "name": "Firm"}])
            await session.execute(
                insert(Matter),
                [{"id": matter, "organization_id": firm, "name": "Sealed", "restricted": True}],
            )
        first = await _add_document(resources, firm, [0, 1, 2])
        assert await found(member) == first

        second = await _add_document(resources, firm, [0])
        assert await found(member) == first | second

        async with transaction(resources.write_sessionmaker) as session:
            await session.execute(
                update(Chunk).where(Chunk.pk.in_(second)).values(matter_id=matter)
            )
        assert await found(member) == first  # walled off for a non-member at once
        assert await found(admin) == first | second

        async with transaction(resources.write_sessionmaker) as session:
            document_id = await session.scalar(
                Chunk.__table__.select()
                .with_only_columns(Chunk.document_id)
                .where(Chunk.pk.in_(first))
                .limit(1)
            )
            await session.execute(delete(Document).where(Document.id == document_id))
        assert await found(admin) == second  # the cascade's deletions bump the revision too

        async with transaction(resources.sessionmaker) as session:
            revision = await session.scalar(
                text("SELECT revision FROM chunk_revisions WHERE organization_id = :o"),
                {"o": firm},
            )
        assert revision == 3 + 1 + 2 + 3  # inserts, insert, moves (old + new row), deletes
    finally:
        await resources.close()
