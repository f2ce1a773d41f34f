"""Search filters as SQL, applied inside every candidate query with the caller's scope."""

from __future__ import annotations

from sqlalchemy import (
    ARRAY,
    BigInteger,
    ColumnElement,
    Text,
    and_,
    any_,
    bindparam,
    cast,
    func,
    true,
)

from lexbase.core.principal import Principal
from lexbase.core.scope import scope_clause
from lexbase.documents.models import Chunk, Document, DocumentProfile
from lexbase.search.schemas import SearchFilters


def chunk_clause(
    principal: Principal, filters: SearchFilters, model: type[Chunk | DocumentProfile] = Chunk
) -> ColumnElement[bool]:
    """Which chunks (or document profiles) may be returned: the tenant and wall scope plus the
    matter and document filters. Statements using it join `documents` for `document_clause`."""
    clauses = [scope_clause(model, principal)]
    if filters.matter_id is not None:
        clauses.append(model.matter_id == filters.matter_id)
    if filters.document_ids is not None:
        clauses.append(model.document_id.in_(filters.document_ids))
    return and_(*clauses)


def document_clause(filters: SearchFilters) -> ColumnElement[bool]:
    """The document-level filters (type, court, jurisdiction, tags, dates)."""
    clauses: list[ColumnElement[bool]] = []
    if filters.document_type is not None:
        clauses.append(Document.document_type == filters.document_type)
    if filters.court is not None:
        clauses.append(Document.court == filters.court)
    if filters.jurisdiction is not None:
        clauses.append(Document.jurisdiction == filters.jurisdiction)
    if filters.date_from is not None:
        clauses.append(Document.document_date >= filters.date_from)
    if filters.date_to is not None:
        clauses.append(Document.document_date <= filters.date_to)
    for tag in filters.tags or ():
        # Tags are a small JSON list; match the serialized element exactly.
        clauses.append(func.lower(cast(Document.tags, Text)).contains(f'"{tag.lower()}"'))
    return and_(true(), *clauses)


def chunk_keys_in(keys: list[int], dialect: str) -> ColumnElement[bool]:
    """`chunks.pk` is one of `keys`. On PostgreSQL one array parameter: an IN list of a new
    length would be a new prepared statement (prepared and planned again) every time."""
    if dialect == "postgresql":
        return Chunk.pk == any_(bindparam("chunk_keys", keys, type_=ARRAY(BigInteger)))
    return Chunk.pk.in_(keys)


def has_document_filters(filters: SearchFilters) -> bool:
    return any(
        value is not None
        for value in (
            filters.document_type,
            filters.court,
            filters.jurisdiction,
            filters.date_from,
            filters.date_to,
            filters.tags or None,
        )
    )
