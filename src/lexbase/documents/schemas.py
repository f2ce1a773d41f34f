"""Bodies of the document routes (API.md: Documents and jobs)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

DocumentTypeName = Literal["opinion", "brief", "motion", "contract", "statute", "other"]


class DocumentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    title: str
    filename: str
    content_type: str
    size_bytes: int
    sha256: str
    status: Literal["queued", "processing", "indexed", "failed"]
    error: str | None
    error_code: str | None
    page_count: int | None
    document_type: str | None
    matter_id: str | None
    tags: list[str]
    metadata: dict[str, Any] = Field(validation_alias=AliasChoices("legal_metadata", "metadata"))
    created_at: datetime
    updated_at: datetime
    indexed_at: datetime | None


class UploadOut(BaseModel):
    document: DocumentOut
    job_id: str | None
    duplicate: bool


class DocumentUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: str | None = Field(default=None, min_length=1, max_length=500)
    tags: list[str] | None = Field(default=None, max_length=50)
    document_type: DocumentTypeName | None = None
    matter_id: str | None = None


class PageOut(BaseModel):
    page: int
    start: int
    end: int


class TextOut(BaseModel):
    text: str
    pages: list[PageOut]


class ChunkOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    document_id: str
    ordinal: int
    page: int | None
    start: int
    end: int
    section: str | None
    text: str


class CitationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    kind: str
    text: str
    normalized: str
    reporter: str | None
    volume: str | None
    page: str | None
    pinpoint: str | None
    year: str | None
    court: str | None
    case_name: str | None
    start: int
    end: int


class ReprocessOut(BaseModel):
    job_id: str
