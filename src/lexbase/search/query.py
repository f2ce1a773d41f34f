"""What a search query asks for: words, exact phrases, and legal citations.

Query text is never passed to the full-text engine as syntax. Words are quoted one by one,
so FTS5 operators (`NEAR`, `*`, `^`, parentheses) and tsquery operators are plain words;
quoted phrases in the query are matched as phrases; citations ("410 U.S. 113",
"42 U.S.C. § 1983") are recognized by eyecite and looked up among the citations extracted
from the documents, in addition to matching as text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import reduce
from typing import Any

from sqlalchemy import ColumnElement, and_, func, literal, or_, select

from lexbase.ingest.enrichment.citations import extract_citations

# The keyword side ignores words that carry no meaning of their own; the semantic side sees
# the whole query.
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "been",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "for",
        "from",
        "had",
        "has",
        "have",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "may",
        "me",
        "might",
        "must",
        "my",
        "no",
        "not",
        "of",
        "on",
        "or",
        "our",
        "shall",
        "should",
        "so",
        "such",
        "than",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "to",
        "under",
        "upon",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
    ]
)
WORD = re.compile(r"[\w§]+(?:[.'\u2019][\w]+)*", re.UNICODE)
PHRASE = re.compile(r'"([^"]+)"')
MAX_TERMS = 32
MAX_PHRASES = 8


@dataclass(frozen=True)
class CitationQuery:
    normalized: str
    reporter: str | None
    volume: str | None
    page: str | None


@dataclass(frozen=True)
class ParsedQuery:
    text: str
    terms: tuple[str, ...]  # lower-cased words outside phrases, stopwords removed
    phrases: tuple[str, ...]  # quoted phrases, each as its words joined by single spaces
    citations: tuple[CitationQuery, ...]

    @property
    def has_keywords(self) -> bool:
        return bool(self.terms or self.phrases)

    def highlight_words(self) -> tuple[str, ...]:
        words = list(self.terms)
        for phrase in self.phrases:
            words.extend(w.lower() for w in phrase.split() if w.lower() not in STOPWORDS)
        return tuple(dict.fromkeys(words))


def parse_query(text: str) -> ParsedQuery:
    text = text.strip()
    phrases = tuple(
        dict.fromkeys(
            " ".join(words)
            for match in PHRASE.finditer(text)
            if (words := WORD.findall(match.group(1)))
        )
    )[:MAX_PHRASES]
    outside = PHRASE.sub(" ", text)
    terms = tuple(
        dict.fromkeys(
            word.lower()
            for word in WORD.findall(outside)
            if word.lower() not in STOPWORDS and (len(word) > 1 or word.isdigit() or word == "§")
        )
    )[:MAX_TERMS]
    return ParsedQuery(text, terms, phrases, _citations(text))


def _citations(text: str) -> tuple[CitationQuery, ...]:
    found = []
    for citation in extract_citations(text):
        if citation.kind in ("case", "statute"):
            found.append(
                CitationQuery(
                    citation.normalized, citation.reporter, citation.volume, citation.page
                )
            )
    return tuple(dict.fromkeys(found))


def citation_clause(
    citations: tuple[CitationQuery, ...], normalized: list[str]
) -> ColumnElement[bool]:
    """Stored citations that are one of these authorities: the same normalized form, or the
    same reporter, volume and page (statutes: code, title and section)."""
    from lexbase.documents.models import DocumentCitation

    return or_(
        DocumentCitation.normalized.in_(normalized),
        *(
            and_(
                DocumentCitation.reporter == c.reporter,
                DocumentCitation.volume == c.volume,
                DocumentCitation.page == c.page,
            )
            for c in citations
            if c.reporter and c.volume and c.page
        ),
    )


def fts5_match(query: ParsedQuery) -> str | None:
    """An FTS5 MATCH expression: any word (ranked by bm25), and every quoted phrase."""

    def quoted(value: str) -> str:
        return '"' + value.replace('"', '""') + '"'

    parts = []
    if query.terms:
        parts.append("(" + " OR ".join(quoted(term) for term in query.terms) + ")")
    parts.extend(quoted(phrase) for phrase in query.phrases)
    return " AND ".join(parts) if parts else None


def tsquery(query: ParsedQuery) -> ColumnElement[Any] | None:
    """The same query for PostgreSQL, built from tsquery functions (never parsed syntax)."""

    def either(a: ColumnElement[Any], b: ColumnElement[Any]) -> ColumnElement[Any]:
        return a.op("||")(b)

    def both(a: ColumnElement[Any], b: ColumnElement[Any]) -> ColumnElement[Any]:
        return a.op("&&")(b)

    any_term: list[ColumnElement[Any]] = [
        func.plainto_tsquery("english", literal(term)) for term in query.terms
    ]
    parts: list[ColumnElement[Any]] = []
    if any_term:
        parts.append(reduce(either, any_term))
    parts.extend(func.phraseto_tsquery("english", literal(phrase)) for phrase in query.phrases)
    if not parts:
        return None
    # A scalar subquery, evaluated once per statement: in a prepared statement's generic plan
    # the bare expression would be re-evaluated for every row it is compared with and ranked
    # against (5x the cost of the whole query at a few thousand matching rows).
    return select(reduce(both, parts)).scalar_subquery()
