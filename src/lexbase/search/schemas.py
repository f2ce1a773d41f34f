"""Bodies of the search and citation routes (API.md: Search and citations)."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

MAX_QUERY_CHARS = 2000
MAX_LIMIT = 100
MAX_OFFSET = 1000

Mode = Literal["hybrid", "keyword", "semantic"]


class SearchFilters(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    matter_id: str | None = Field(default=None, max_length=36)
    document_ids: list[str] | None = Field(default=None, max_length=500)
    document_type: str | None = Field(default=None, max_length=20)
    court: str | None = Field(default=None, max_length=50)
    jurisdiction: str | None = Field(default=None, max_length=50)
    tags: list[str] | None = Field(default=None, max_length=20)
    date_from: date | None = None
    date_to: date | None = None

    @model_validator(mode="after")
    def _date_range(self) -> SearchFilters:
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise ValueError("date_from is after date_to")
        return self


class SearchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: str = Field(min_length=1, max_length=MAX_QUERY_CHARS)
    mode: Mode = "hybrid"
    filters: SearchFilters = Field(default_factory=SearchFilters)
    limit: int = Field(default=10, ge=1, le=MAX_LIMIT)
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET)
    highlight: bool = True
    facets: bool = True

    @model_validator(mode="after")
    def _not_blank(self) -> SearchRequest:
        if not self.query.strip():
            raise ValueError("query is empty")
        return self


class SearchResult(BaseModel):
    document_id: str
    chunk_id: str
    title: str
    score: float
    text: str
    highlights: list[str]
    page: int | None
    start: int
    end: int
    section: str | None
    metadata: dict[str, Any]


class SearchFocus(BaseModel):
    """The documents the query's reference clause named; the question was searched in them."""

    document_ids: list[str]
    reference: str
    question: str


class SearchResponse(BaseModel):
    results: list[SearchResult]
    total: int
    facets: dict[str, dict[str, int]] | None
    took_ms: float
    mode: Mode
    citations: list[str] = Field(description="Citations recognized in the query")
    focus: SearchFocus | None = None


class Suggestion(BaseModel):
    kind: Literal["title", "party", "citation"]
    value: str
    document_id: str | None = None


class SuggestResponse(BaseModel):
    items: list[Suggestion]


class CitingContext(BaseModel):
    text: str
    start: int
    end: int
    pinpoint: str | None
    context: str
    page: int | None


class CitingDocument(BaseModel):
    document_id: str
    title: str
    document_type: str | None
    count: int
    contexts: list[CitingContext]


class CitationLookup(BaseModel):
    cite: str
    normalized: list[str]
    items: list[CitingDocument]
    total: int
