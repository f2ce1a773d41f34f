"""Citation lookup (which of the caller's documents cite an authority) and suggestions."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import Text, and_, case, cast, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from lexbase.core.principal import Principal
from lexbase.core.scope import scope_clause
from lexbase.documents.models import Chunk, Document, DocumentCitation, DocumentText
from lexbase.ingest.enrichment.text import squash
from lexbase.search.query import citation_clause, parse_query
from lexbase.search.schemas import (
    CitationLookup,
    CitingContext,
    CitingDocument,
    Suggestion,
    SuggestResponse,
)

CONTEXT_CHARS = 200
CONTEXTS_PER_DOCUMENT = 5
SUGGESTIONS_PER_KIND = 5


def _like_prefix(value: str) -> str:
    return value.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


async def cited_by(
    session: AsyncSession, principal: Principal, cite: str, limit: int, offset: int
) -> CitationLookup:
    recognized = parse_query(cite).citations
    normalized = [c.normalized for c in recognized] or [squash(cite)]
    matching = and_(
        scope_clause(DocumentCitation, principal), citation_clause(recognized, normalized)
    )
    counts = (
        select(DocumentCitation.document_id, func.count().label("n"))
        .where(matching)
        .group_by(DocumentCitation.document_id)
        .subquery()
    )
    total = int((await session.execute(select(func.count()).select_from(counts))).scalar_one())
    documents = (
        await session.execute(
            select(Document, counts.c.n)
            .join(counts, counts.c.document_id == Document.id)
            .where(scope_clause(Document, principal))
            .order_by(counts.c.n.desc(), Document.title, Document.id)
            .limit(limit)
            .offset(offset)
        )
    ).all()
    contexts = await _contexts(session, matching, [d.id for d, _ in documents])
    return CitationLookup(
        cite=cite,
        normalized=normalized,
        total=total,
        items=[
            CitingDocument(
                document_id=document.id,
                title=document.title,
                document_type=document.document_type,
                count=int(n),
                contexts=contexts.get(document.id, []),
            )
            for document, n in documents
        ],
    )


async def _contexts(
    session: AsyncSession, matching: object, document_ids: list[str]
) -> dict[str, list[CitingContext]]:
    if not document_ids:
        return {}
    window_start = case(
        (DocumentCitation.start > CONTEXT_CHARS, DocumentCitation.start - CONTEXT_CHARS),
        else_=0,
    )
    window = func.substr(
        DocumentText.text,
        window_start + 1,
        DocumentCitation.end - window_start + CONTEXT_CHARS,
    )
    page = (
        select(Chunk.page)
        .where(
            Chunk.document_id == DocumentCitation.document_id,
            Chunk.start <= DocumentCitation.start,
            Chunk.end > DocumentCitation.start,
        )
        .order_by(Chunk.ordinal)
        .limit(1)
        .scalar_subquery()
    )
    rows = await session.execute(
        select(DocumentCitation, window, page)
        .join(DocumentText, DocumentText.document_id == DocumentCitation.document_id)
        .where(matching, DocumentCitation.document_id.in_(document_ids))  # type: ignore[arg-type]
        .order_by(DocumentCitation.document_id, DocumentCitation.start)
    )
    found: dict[str, list[CitingContext]] = defaultdict(list)
    for citation, context, page_number in rows:
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
    word_pattern = "% " + pattern
    lowered = prefix.strip().lower()
    items: list[Suggestion] = []

    titles = await session.execute(
        select(Document.id, Document.title)
        .where(
            scope_clause(Document, principal),
            or_(
                func.lower(Document.title).like(pattern, escape="\\"),
                func.lower(Document.title).like(word_pattern, escape="\\"),
            ),
        )
        .order_by(Document.title)
        .limit(SUGGESTIONS_PER_KIND)
    )
    items += [Suggestion(kind="title", value=title, document_id=id_) for id_, title in titles]

    metadata_text = func.lower(cast(Document.legal_metadata, Text))
    candidates = await session.execute(
        select(Document.id, Document.legal_metadata)
        .where(scope_clause(Document, principal), metadata_text.contains(lowered))
        .limit(50)
    )
    parties: dict[str, str] = {}
    for id_, metadata in candidates:
        for party in (metadata or {}).get("parties") or []:
            name = str(party if isinstance(party, str) else party.get("name", ""))
            words = name.lower().split()
            if name and (name.lower().startswith(lowered) or lowered in words):
                parties.setdefault(name, id_)
    items += [
        Suggestion(kind="party", value=name, document_id=id_)
        for name, id_ in sorted(parties.items())[:SUGGESTIONS_PER_KIND]
    ]

    citations = await session.scalars(
        select(DocumentCitation.normalized)
        .where(
            scope_clause(DocumentCitation, principal),
            func.lower(DocumentCitation.normalized).like(pattern, escape="\\"),
            DocumentCitation.kind.in_(("case", "statute")),
        )
        .group_by(DocumentCitation.normalized)
        .order_by(func.count().desc(), DocumentCitation.normalized)
        .limit(SUGGESTIONS_PER_KIND)
    )
    items += [Suggestion(kind="citation", value=value) for value in citations]
    return SuggestResponse(items=items)
