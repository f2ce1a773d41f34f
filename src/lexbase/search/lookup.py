"""Citation lookup (which of the caller's documents cite an authority) and suggestions."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncSession

from lexbase.core.principal import Principal
from lexbase.ingest.enrichment.text import squash
from lexbase.search.lookup_repository import LookupRepository
from lexbase.search.query import parse_query
from lexbase.search.schemas import (
    CitationLookup,
    CitingContext,
    CitingDocument,
    Suggestion,
    SuggestResponse,
)

CONTEXTS_PER_DOCUMENT = 5
SUGGESTIONS_PER_KIND = 5
PARTY_CANDIDATES = 50


def _like_prefix(value: str) -> str:
    return value.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


async def cited_by(
    session: AsyncSession, principal: Principal, cite: str, limit: int, offset: int
) -> CitationLookup:
    recognized = parse_query(cite).citations
    normalized = [c.normalized for c in recognized] or [squash(cite)]
    repository = LookupRepository(session)
    citing = repository.citing(principal, recognized, normalized)
    total, documents = await repository.citing_documents(principal, citing, limit, offset)
    contexts = await _contexts(repository, citing, [d.id for d, _ in documents])
    return CitationLookup(
        cite=cite,
        normalized=normalized,
        total=total,
        items=[
            CitingDocument(
                document_id=document.id,
                title=document.title,
                document_type=document.document_type,
                count=n,
                contexts=contexts.get(document.id, []),
            )
            for document, n in documents
        ],
    )


async def _contexts(
    repository: LookupRepository, citing: ColumnElement[bool], document_ids: list[str]
) -> dict[str, list[CitingContext]]:
    if not document_ids:
        return {}
    found: dict[str, list[CitingContext]] = defaultdict(list)
    for citation, context, page_number in await repository.contexts(citing, document_ids):
        if len(found[citation.document_id]) >= CONTEXTS_PER_DOCUMENT:
            continue
        found[citation.document_id].append(
            CitingContext(
                text=citation.text,
                start=citation.start,
                end=citation.end,
                pinpoint=citation.pinpoint,
                context=" ".join((context or "").split()),
                page=page_number,
            )
        )
    return found


async def suggest(session: AsyncSession, principal: Principal, prefix: str) -> SuggestResponse:
    """Completions for what the caller has typed: document titles, parties and citations."""
    pattern = _like_prefix(prefix.strip())
    lowered = prefix.strip().lower()
    repository = LookupRepository(session)
    titles = await repository.titles(principal, [pattern, "% " + pattern], SUGGESTIONS_PER_KIND)
    items = [Suggestion(kind="title", value=title, document_id=id_) for id_, title in titles]

    parties: dict[str, str] = {}
    for id_, metadata in await repository.metadata_mentioning(principal, lowered, PARTY_CANDIDATES):
        for party in metadata.get("parties") or []:
            name = str(party if isinstance(party, str) else party.get("name", ""))
            words = name.lower().split()
            if name and (name.lower().startswith(lowered) or lowered in words):
                parties.setdefault(name, id_)
    items += [
        Suggestion(kind="party", value=name, document_id=id_)
        for name, id_ in sorted(parties.items())[:SUGGESTIONS_PER_KIND]
    ]
    citations = await repository.cited_authorities(principal, pattern, SUGGESTIONS_PER_KIND)
    items += [Suggestion(kind="citation", value=value) for value in citations]
    return SuggestResponse(items=items)
