"""Keyword search within chosen documents reads only the stretch of the index their chunk
keys span, and still returns exactly their matching chunks when other documents' chunks lie
in between."""

from __future__ import annotations

import uuid

from sqlalchemy import insert

from lexbase.auth.models import Organization
from lexbase.core.db import transaction
from lexbase.core.permissions import Role
from lexbase.core.principal import Principal
from lexbase.documents.models import Chunk, Document
from lexbase.providers.resources import open_resources
from lexbase.search import keyword
from lexbase.search.filters import CandidateFilter
from lexbase.search.index import session_index
from lexbase.search.query import parse_query
from lexbase.search.schemas import SearchFilters
from tests.conftest import SettingsFactory
from tests.factories import chunk_row, document_row


async def test_interleaved_chunks_of_other_documents_never_count(
    make_settings: SettingsFactory,
) -> None:
    resources = open_resources(make_settings())
    firm = str(uuid.uuid4())
    principal = Principal(user_id=str(uuid.uuid4()), organization_id=firm, role=Role.ADMIN)
    try:
        async with transaction(resources.write_sessionmaker) as session:
            await session.execute(insert(Organization), [{"id": firm, "name": "Firm"}])
            await keyword.ensure_organization_index(session, firm)
            chosen, other, absent = document_row(firm), document_row(firm), document_row(firm)
            await session.execute(insert(Document), [chosen, other, absent])
            rows = []
            for n in range(30):  # keys alternate between the two documents
                rows.append(chunk_row(chosen, n, f"notice of termination {n}"))
                rows.append(chunk_row(other, n, f"notice of termination given {n}"))
            await session.execute(insert(Chunk), rows)
        async with transaction(resources.sessionmaker) as session:

            async def within(document_ids: list[str]) -> tuple[set[str], int]:
                filters = SearchFilters(document_ids=document_ids)
                ranked = await session_index(session).keyword_candidates(
                    session,
                    parse_query("termination notice"),
                    CandidateFilter.of(principal, filters),
                    50,
                )
                pks = [pk for pk, _ in ranked]
                owners = await session.execute(
                    Chunk.__table__.select()
                    .with_only_columns(Chunk.document_id)
                    .where(Chunk.pk.in_(pks))
                )
                assert len(pks) == len(set(pks))
                return {owner for (owner,) in owners}, len(pks)

            assert await within([chosen["id"]]) == ({chosen["id"]}, 30)
            assert await within([chosen["id"], other["id"]]) == ({chosen["id"], other["id"]}, 50)
            assert await within([absent["id"]]) == (set(), 0)  # a document without chunks
    finally:
        await resources.close()
