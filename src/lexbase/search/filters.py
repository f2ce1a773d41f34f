"""What a candidate query may return, described once for every search index.

A `CandidateFilter` is the caller (whose tenant and walls always apply) plus the request's
filters. Each index translates it: the SQL backends into WHERE clauses of their candidate
queries (search/repository.py), SQLite's in-memory vector search into a mask over its rows
(search/memory_vectors.py). A new filter is a field here and its translation in those places.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from lexbase.core.principal import Principal
from lexbase.search.schemas import SearchFilters


@dataclass(frozen=True)
class DocumentFilter:
    """Conditions on the document's own fields. Every index resolves them against the
    documents table, so they need no copy on each chunk."""

    document_type: str | None = None
    court: str | None = None
    jurisdiction: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    tags: tuple[str, ...] = ()

    @property
    def is_empty(self) -> bool:
        return (
            self.document_type is None
            and self.court is None
            and self.jurisdiction is None
            and self.date_from is None
            and self.date_to is None
            and not self.tags
        )


@dataclass(frozen=True)
class CandidateFilter:
    """The caller's scope (tenant and walls: core/scope.py) and the request's filters: the
    matter and documents, which every chunk carries, and the document-level ones."""

    principal: Principal
    matter_id: str | None = None
    document_ids: tuple[str, ...] | None = None
    documents: DocumentFilter = field(default_factory=DocumentFilter)

    @classmethod
    def of(cls, principal: Principal, filters: SearchFilters) -> CandidateFilter:
        return cls(
            principal=principal,
            matter_id=filters.matter_id,
            document_ids=None if filters.document_ids is None else tuple(filters.document_ids),
            documents=DocumentFilter(
                document_type=filters.document_type,
                court=filters.court,
                jurisdiction=filters.jurisdiction,
                date_from=filters.date_from,
                date_to=filters.date_to,
                tags=tuple(filters.tags or ()),
            ),
        )

    @property
    def organization_id(self) -> str:
        return self.principal.organization_id
