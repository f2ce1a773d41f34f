"""Which document a query is about, when it says so.

A lawyer asks about a clause of a particular agreement: "Consider the Supply Agreement
between Acme Widgets, Inc. and Northwind Traders LLC; what is the notice period for
termination?". Searched as one bag of words, the names pull in that contract's preamble and
the question's words pull in every contract's termination clause. So a query whose first
clause names its subject (separated by ";" or ": ") is searched in two steps: the reference
is matched against document profiles (title, parties, opening text) and, when one or a few
documents clearly match, the question alone is searched within them. The retrieval eval
measured this (benchmarks/RESULTS.md): precision@1 on the CUAD dev slice goes from ~5% to
~30%.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lexbase.search.query import ParsedQuery, parse_query

SEPARATOR = re.compile(r";|:\s")
# The best document must score this much above the next to be the only one searched;
# otherwise every document within this factor of the best is kept.
FOCUS_MARGIN = 1.2
MAX_FOCUS_DOCUMENTS = 3


@dataclass(frozen=True)
class QueryParts:
    reference: ParsedQuery
    question: ParsedQuery


def split_reference(text: str) -> QueryParts | None:
    """The query's reference clause and its question, or None when it has no such shape."""
    for match in SEPARATOR.finditer(text):
        reference = parse_query(text[: match.start()])
        question = parse_query(text[match.end() :])
        if reference.has_keywords and question.has_keywords:
            return QueryParts(reference, question)
    return None


def focused_documents(ranked: list[tuple[str, float]]) -> list[str]:
    """The documents a reference clearly points at (best first), or [] when none stands out."""
    if not ranked or ranked[0][1] <= 0:
        return []
    best = ranked[0][1]
    if len(ranked) == 1 or best >= FOCUS_MARGIN * ranked[1][1]:
        return [ranked[0][0]]
    close = [document for document, score in ranked if score * FOCUS_MARGIN >= best]
    return close if len(close) <= MAX_FOCUS_DOCUMENTS else []
