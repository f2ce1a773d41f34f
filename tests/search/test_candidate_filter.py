"""A request's filters are described once (`CandidateFilter`) and each index translates the
description: its keyword and vector candidate queries, and on SQLite the in-memory vectors'
mask, must let exactly the chunks through that the scope and filters allow."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import date
from typing import Any

import numpy as np
import pytest
from sqlalchemy import insert, select

from lexbase.auth.models import Organization
from lexbase.core.db import transaction
from lexbase.core.permissions import Role
from lexbase.core.principal import Principal
from lexbase.documents.models import Chunk, Document
from lexbase.matters.models import Matter
from lexbase.providers.resources import open_resources
from lexbase.search import keyword
from lexbase.search.filters import CandidateFilter
from lexbase.search.index import session_index
from lexbase.search.query import parse_query
from lexbase.search.repository import candidate_clause, document_clause
from lexbase.search.schemas import SearchFilters
from tests.conftest import SettingsFactory
from tests.factories import chunk_row, document_row

MODEL = "test-model"


def test_every_request_filter_is_described() -> None:
    filters = SearchFilters(
        matter_id="m",
        document_ids=["d1", "d2"],
        document_type="contract",
        court="D. Del.",
        jurisdiction="DE",
        tags=["acme"],
        date_from=date(2020, 1, 1),
        date_to=date(2021, 1, 1),
    )
    principal = Principal(user_id="u", organization_id="o", role=Role.VIEWER)
    where = CandidateFilter.of(principal, filters)
    described = {
        "matter_id": where.matter_id,
        "document_ids": where.document_ids,
        **asdict(where.documents),
    }
    requested = {
        name: tuple(value) if isinstance(value, list) else value
        for name, value in filters.model_dump().items()
    }
    assert described == requested
    assert CandidateFilter.of(principal, SearchFilters()).documents.is_empty
    assert not where.documents.is_empty


async def _seed(make_settings: SettingsFactory) -> dict[str, Any]:
    resources = open_resources(make_settings())
    firm, other = str(uuid.uuid4()), str(uuid.uuid4())
    sealed, open_ = str(uuid.uuid4()), str(uuid.uuid4())
    documents: dict[str, dict[str, Any]] = {}
    for name, organization, matter, fields in (
        (
            "lease",
            firm,
            None,
            {
                "document_type": "contract",
                "court": "D. Del.",
                "tags": ["acme"],
                "jurisdiction": "DE",
                "document_date": date(2020, 1, 1),
            },
        ),
        (
            "ruling",
            firm,
            open_,
            {
                "document_type": "opinion",
                "court": "S.D.N.Y.",
                "jurisdiction": "NY",
                "tags": ["beta", "acme"],
                "document_date": date(2022, 6, 1),
            },
        ),
        (
            "deal",
            firm,
            sealed,
            {"document_type": "contract", "court": "D. Del.", "document_date": date(2021, 3, 3)},
        ),
        ("memo", firm, None, {"document_type": "memo", "tags": ["beta"]}),
        ("theirs", other, None, {"document_type": "contract", "court": "D. Del."}),
    ):
        documents[name] = document_row(organization, matter) | fields
    rng = np.random.default_rng(7)
    try:
        async with transaction(resources.write_sessionmaker) as session:
            await session.execute(
                insert(Organization), [{"id": firm, "name": "Firm"}, {"id": other, "name": "B"}]
            )
            await session.execute(
                insert(Matter),
                [
                    {"id": sealed, "organization_id": firm, "name": "Sealed", "restricted": True},
                    {"id": open_, "organization_id": firm, "name": "Open", "restricted": False},
                ],
            )
            for organization in (firm, other):
                await keyword.ensure_organization_index(session, organization)
            await session.execute(insert(Document), list(documents.values()))
            rows = []
            for document in documents.values():
                for n in range(3):
                    vector = rng.normal(size=4).astype(np.float32)
                    vector /= np.linalg.norm(vector)
                    rows.append(chunk_row(document, n, f"indemnity clause {n}", vector, MODEL))
            await session.execute(insert(Chunk), rows)
    finally:
        await resources.close()
    ids = {name: document["id"] for name, document in documents.items()}
    return {"firm": firm, "sealed": sealed, "open": open_, **ids}


FILTERS: list[dict[str, Any]] = [
    {},
    {"matter_id": "open"},
    {"matter_id": "sealed"},
    {"document_ids": ["lease", "deal", "theirs"]},
    {"document_type": "contract"},
    {"court": "D. Del."},
    {"jurisdiction": "NY"},
    {"tags": ["acme"]},
    {"tags": ["acme", "beta"]},
    {"date_from": date(2021, 1, 1)},
    {"date_to": date(2021, 12, 31)},
    {"document_type": "contract", "date_from": date(2020, 6, 1), "matter_id": "sealed"},
    {"document_ids": ["memo"], "tags": ["beta"]},
]


def _filters(spec: dict[str, Any], ids: dict[str, Any]) -> SearchFilters:
    values = dict(spec)
    if "matter_id" in values:
        values["matter_id"] = ids[values["matter_id"]]
    if "document_ids" in values:
        values["document_ids"] = [ids[name] for name in values["document_ids"]]
    return SearchFilters(**values)


@pytest.mark.parametrize("role", [Role.ADMIN, Role.PARALEGAL])
async def test_each_index_lets_through_exactly_what_the_filter_describes(
    make_settings: SettingsFactory, role: Role
) -> None:
    ids = await _seed(make_settings)
    principal = Principal(user_id=str(uuid.uuid4()), organization_id=ids["firm"], role=role)
    query = parse_query("indemnity")
    resources = open_resources(make_settings())
    try:
        async with transaction(resources.sessionmaker) as session:
            index = session_index(session)
            for spec in FILTERS:
                where = CandidateFilter.of(principal, _filters(spec, ids))
                allowed = set(
                    await session.scalars(
                        select(Chunk.pk)
                        .join(Document, Document.id == Chunk.document_id)
                        .where(candidate_clause(where), document_clause(where.documents))
                    )
                )
                vector = np.array([1, 0, 0, 0], np.float32)
                nearest = await index.vector_candidates(session, vector, MODEL, where, 100)
                matching = await index.keyword_candidates(session, query, where, 100)
                assert {pk for pk, _ in nearest} == allowed, spec
                assert {pk for pk, _ in matching} == allowed, spec
    finally:
        await resources.close()


async def test_the_walls_and_filters_are_the_ones_described(
    make_settings: SettingsFactory,
) -> None:
    ids = await _seed(make_settings)
    member = Principal(user_id=str(uuid.uuid4()), organization_id=ids["firm"], role=Role.VIEWER)
    resources = open_resources(make_settings())
    try:
        async with transaction(resources.sessionmaker) as session:

            async def documents(spec: dict[str, Any]) -> set[str]:
                where = CandidateFilter.of(member, _filters(spec, ids))
                keys = [
                    pk
                    for pk, _ in await session_index(session).vector_candidates(
                        session, np.array([1, 0, 0, 0], np.float32), MODEL, where, 100
                    )
                ]
                owners = await session.scalars(
                    select(Chunk.document_id).where(Chunk.pk.in_(keys)).distinct()
                )
                names = {value: name for name, value in ids.items()}
                return {names[owner] for owner in owners}

            assert await documents({}) == {"lease", "ruling", "memo"}  # never the wall's
            assert await documents({"court": "D. Del."}) == {"lease"}
            assert await documents({"tags": ["acme", "beta"]}) == {"ruling"}
            assert await documents({"date_to": date(2021, 12, 31)}) == {"lease"}
            assert await documents({"matter_id": "sealed"}) == set()
            assert await documents({"document_ids": ["memo", "theirs"]}) == {"memo"}
    finally:
        await resources.close()
