"""Keyword candidates are read from the index's own ranking first and scoped afterwards; the
answer must equal ranking the whole scoped match set, however many top rows a wall hides."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import insert

from lexbase.auth.models import Organization
from lexbase.core.db import transaction
from lexbase.core.permissions import Role
from lexbase.core.principal import Principal
from lexbase.documents.models import Chunk, Document
from lexbase.matters.models import Matter
from lexbase.providers.resources import open_resources
from lexbase.search import index_sqlite, keyword
from lexbase.search.filters import CandidateFilter
from lexbase.search.index import session_index
from lexbase.search.query import parse_query
from lexbase.search.schemas import SearchFilters
from tests.conftest import SettingsFactory
from tests.factories import chunk_row, document_row

DEPTH = 20


def _text(n: int, strong: bool) -> str:
    # Fewer filler words score higher: the hidden rows are all stronger than the open ones.
    if strong:
        return "indemnify " * 3 + "the buyer " * (n % 5)
    return "indemnify the buyer against claims " + "and losses " * (5 + n)


async def _seed(settings_factory: SettingsFactory, hidden: int) -> tuple[Principal, set[int]]:
    resources = open_resources(settings_factory())
    organization, other = str(uuid.uuid4()), str(uuid.uuid4())
    matter = str(uuid.uuid4())
    try:
        async with transaction(resources.write_sessionmaker) as session:
            await session.execute(
                insert(Organization),
                [{"id": organization, "name": "Firm"}, {"id": other, "name": "Other firm"}],
            )
            for firm in (organization, other):  # as the first stored document would
                await keyword.ensure_organization_index(session, firm)
            await session.execute(
                insert(Matter),
                [
                    {
                        "id": matter,
                        "organization_id": organization,
                        "name": "Sealed",
                        "restricted": True,
                    }
                ],
            )
            rows = []
            for firm, matter_id, count, strong in (
                (organization, matter, hidden, True),
                (organization, None, 60, False),
                (other, None, 60, True),  # another firm's stronger rows: never candidates
            ):
                document = document_row(firm, matter_id)
                await session.execute(insert(Document), [document])
                rows.extend(chunk_row(document, n, _text(n, strong)) for n in range(count))
            await session.execute(insert(Chunk), rows)
        async with transaction(resources.sessionmaker) as session:
            walled = {
                pk
                for (pk,) in await session.execute(
                    Chunk.__table__.select()
                    .with_only_columns(Chunk.pk)
                    .where(Chunk.matter_id == matter)
                )
            }
    finally:
        await resources.close()
    principal = Principal(
        user_id=str(uuid.uuid4()), organization_id=organization, role=Role.PARALEGAL
    )
    return principal, walled


async def _candidates(settings_factory: SettingsFactory, principal: Principal) -> list[int]:
    resources = open_resources(settings_factory())
    try:
        async with transaction(resources.sessionmaker) as session:
            ranked = await session_index(session).keyword_candidates(
                session,
                parse_query("indemnify buyer"),
                CandidateFilter.of(principal, SearchFilters()),
                DEPTH,
            )
    finally:
        await resources.close()
    return [pk for pk, _ in ranked]


@pytest.mark.parametrize("hidden", [0, 10, 35, 200])
async def test_walled_top_rows_never_shorten_or_leak_the_candidates(
    make_settings: SettingsFactory, monkeypatch: pytest.MonkeyPatch, hidden: int
) -> None:
    # 0: the shortlist answers; 10: it answers with hidden rows skipped; 35 and 200: the
    # wall hides more than the shortlist's slack, so the whole match set is ranked.
    principal, walled = await _seed(make_settings, hidden)
    found = await _candidates(make_settings, principal)
    assert len(found) == DEPTH
    assert not set(found) & walled
    monkeypatch.setattr(index_sqlite, "SHORTLIST_FACTOR", 10_000)  # the shortlist is everything
    assert found == await _candidates(make_settings, principal)
