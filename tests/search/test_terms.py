"""The keyword stage scores a query's rarer words: counted in the caller's own chunks, through
the index's own tokenization, within a row budget."""

from __future__ import annotations

import uuid

import pytest
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
from lexbase.search.terms import TermPolicy, TermStatistics, choose_terms
from tests.conftest import SettingsFactory
from tests.factories import chunk_row, document_row

POLICY = TermPolicy(budget=100, budget_share=0.2)


@pytest.mark.parametrize(
    ("counts", "total", "expected"),
    [
        # Rarest first while the rows stay within 100; the query's order is kept.
        ({"party": 400, "assign": 20, "consent": 10}, 1000, ("assign", "consent")),
        ({"notice": 90, "assign": 20, "consent": 10}, 1000, ("assign", "consent")),
        ({"notice": 60, "assign": 50, "consent": 40}, 1000, ("assign", "consent")),
        ({"notice": 30, "assign": 80, "consent": 40}, 1000, ("notice", "consent")),
        # The rarest word is always kept, however common.
        ({"party": 900, "agreement": 950}, 1000, ("party",)),
        # A smaller organization: at most 20% of its chunks (20 of 100).
        ({"notice": 12, "assign": 8, "party": 31}, 100, ("notice", "assign")),
        ({"notice": 13, "assign": 8, "party": 31}, 100, ("assign",)),
    ],
)
def test_choose_terms(counts: dict[str, int], total: int, expected: tuple[str, ...]) -> None:
    assert choose_terms(tuple(counts), counts, total, POLICY) == expected


async def _seed(make_settings: SettingsFactory) -> Principal:
    """40 chunks of the firm's: all say "agreement", 5 "indemnified", 2 "escrow". Another
    firm's chunks all say "indemnify": they must not make the word common for this one."""
    resources = open_resources(make_settings())
    firm, other = str(uuid.uuid4()), str(uuid.uuid4())
    try:
        async with transaction(resources.write_sessionmaker) as session:
            await session.execute(
                insert(Organization), [{"id": firm, "name": "Firm"}, {"id": other, "name": "B"}]
            )
            for organization in (firm, other):  # as the first stored document would
                await keyword.ensure_organization_index(session, organization)
            ours, theirs = document_row(firm), document_row(other)
            await session.execute(insert(Document), [ours, theirs])
            rows = []
            for n in range(40):
                words = ["This agreement binds the buyer"]
                words += ["and the seller is indemnified"] if n < 5 else []
                words += ["with funds held in escrow"] if n >= 38 else []
                rows.append(chunk_row(ours, n, " ".join(words)))
                rows.append(chunk_row(theirs, n, f"The seller shall indemnify the buyer {n}"))
            await session.execute(insert(Chunk), rows)
    finally:
        await resources.close()
    return Principal(user_id=str(uuid.uuid4()), organization_id=firm, role=Role.PARALEGAL)


async def test_common_words_are_counted_per_firm_and_left_out(
    make_settings: SettingsFactory,
) -> None:
    principal = await _seed(make_settings)
    resources = open_resources(make_settings())
    try:
        async with transaction(resources.sessionmaker) as session:
            index = session_index(session)
            statistics = TermStatistics(index, POLICY)
            org = principal.organization_id
            # Counted as the index matches words: "indemnify" finds the "indemnified" rows.
            assert await index.term_rows(session, org, "indemnify", cap=100) == 5
            assert await index.term_rows(session, org, "agreement", cap=100) == 40
            assert await index.term_rows(session, org, "agreement", cap=7) == 7
            assert await index.organization_rows(session, org) == 40

            query = parse_query("agreement indemnify escrow")
            chosen = await statistics.keyword_query(session, org, query)
            assert chosen.terms == ("indemnify", "escrow")
            ranked = await index.keyword_candidates(
                session, chosen, CandidateFilter.of(principal, SearchFilters()), 50
            )
            # Only rows with a word that was scored: the seven, never the other firm's.
            assert len(ranked) == 7

            # Phrases and single words are searched as asked.
            phrase = parse_query('agreement "held in escrow"')
            assert await statistics.keyword_query(session, org, phrase) == phrase
            single = parse_query("agreement")
            assert await statistics.keyword_query(session, org, single) == single
    finally:
        await resources.close()
