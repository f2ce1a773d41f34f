"""Which of a query's words the keyword stage scores.

Ranking costs grow with the rows that match: FTS5's bm25 costs a few microseconds for every
matching row (and a pass over each word's posting list for its idf), PostgreSQL's ts_rank
reads every matching row's tsvector. A question in everyday words ("Is notice required if a
party assigns the contract?") matches most of a large firm's chunks through words such as
"party" or "contract", which say little about which clause is meant: bm25 gives a word found
in half the rows no weight at all, and one in 30% of them less than a fifth of a rare word's.

So words are taken rarest first, while the rows they match (summed over the words) stay
within `budget_share` of the organization's chunks and at most `budget` rows; the rarest word
is always kept and quoted phrases are never touched. The counts come from the index itself
(capped at the limit, so a very common word costs no more to count than the limit) and are
cached per organization for a few minutes: a stale count only changes which common words are
left out, never what a caller may see.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, replace

from sqlalchemy.ext.asyncio import AsyncSession

from lexbase.core.config import Settings
from lexbase.search.index import SearchIndex
from lexbase.search.query import ParsedQuery

CACHE_SECONDS = 300.0
CACHE_ENTRIES = 100_000


@dataclass(frozen=True)
class TermPolicy:
    budget: int  # the most rows the chosen words may match, summed over the words
    budget_share: float  # ... and at most this share of the organization's chunks

    @classmethod
    def from_settings(cls, settings: Settings) -> TermPolicy:
        return cls(settings.search_keyword_budget, settings.search_keyword_budget_share)

    def limit(self, total: int) -> int:
        """The rows the words may match in an organization of `total` chunks."""
        return min(self.budget, math.ceil(self.budget_share * total))


def choose_terms(
    terms: Sequence[str], counts: dict[str, int], total: int, policy: TermPolicy
) -> tuple[str, ...]:
    """The words to score, in the query's order: rarest first while within the limit."""
    limit = policy.limit(total)
    chosen: set[str] = set()
    spent = 0
    for term in sorted(terms, key=lambda t: counts[t]):  # stable: ties keep query order
        rows = counts[term]
        if chosen and spent + rows > limit:
            continue
        chosen.add(term)
        spent += rows
    return tuple(t for t in terms if t in chosen)


class TermStatistics:
    """Capped row counts of words per organization, kept for CACHE_SECONDS (one per process,
    owned by the app's lifespan)."""

    def __init__(self, index: SearchIndex, policy: TermPolicy) -> None:
        self.index = index
        self.policy = policy
        self._counts: OrderedDict[tuple[str, str | None], tuple[float, int]] = OrderedDict()

    async def keyword_query(
        self, session: AsyncSession, organization_id: str, query: ParsedQuery
    ) -> ParsedQuery:
        """`query` with only the words worth scoring (all of them when it has phrases, which
        already narrow the match, or a single word)."""
        if query.phrases or len(query.terms) < 2:
            return query
        total = await self._cached(session, organization_id, None)
        counts = {term: await self._cached(session, organization_id, term) for term in query.terms}
        terms = choose_terms(query.terms, counts, total, self.policy)
        return query if terms == query.terms else replace(query, terms=terms)

    async def _cached(self, session: AsyncSession, organization_id: str, term: str | None) -> int:
        key = (organization_id, term)
        now = time.monotonic()
        entry = self._counts.get(key)
        if entry is not None and entry[0] > now:
            self._counts.move_to_end(key)
            return entry[1]
        if term is None:
            count = await self.index.organization_rows(session, organization_id)
        else:
            # Counting past the limit decides nothing more: a word beyond it is left out
            # whatever its exact count (unless it is the rarest word).
            cap = self.policy.limit(self._total(key)) + 1
            count = await self.index.term_rows(session, organization_id, term, cap)
        self._counts[key] = (now + CACHE_SECONDS, count)
        self._counts.move_to_end(key)
        while len(self._counts) > CACHE_ENTRIES:
            self._counts.popitem(last=False)
        return count

    def _total(self, key: tuple[str, str | None]) -> int:
        entry = self._counts.get((key[0], None))
        return 0 if entry is None else entry[1]
