"""Values passed between pipeline stages. Offsets are character offsets into the extracted text."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

FileKind = Literal["pdf", "docx", "doc", "html", "text", "rtf"]
DocumentType = Literal["opinion", "brief", "motion", "contract", "statute", "other"]
PAGE_SEPARATOR = "\f"
# Bumped whenever a stage's output changes, so jobs record which pipeline produced a document.
PIPELINE_VERSION = "3"


@dataclass(frozen=True)
class Detected:
    kind: FileKind
    content_type: str


@dataclass(frozen=True)
class PageSpan:
    page: int  # 1-based
    start: int
    end: int


@dataclass(frozen=True)
class Extracted:
    """The document's text; pages are joined by a form feed and `pages` index into `text`."""

    text: str
    pages: list[PageSpan]
    extractor: str  # e.g. "pypdfium2"
    extractor_version: str
    pages_without_text: list[int] = field(default_factory=list)  # 1-based; candidates for OCR
    encoding: str | None = None  # for text files: the encoding the bytes were decoded with


@dataclass(frozen=True)
class Citation:
    kind: Literal["case", "statute", "short", "id", "supra", "other"]
    text: str  # as it appears in the document
    normalized: str  # e.g. "410 U.S. 113" or "42 U.S.C. § 1983"
    start: int
    end: int
    reporter: str | None = None
    volume: str | None = None
    page: str | None = None
    pinpoint: str | None = None
    year: str | None = None
    court: str | None = None
    case_name: str | None = None


@dataclass(frozen=True)
class LegalMetadata:
    citations: list[Citation]
    courts: list[str]  # courts-db ids, e.g. "ark", "ca9"
    court_names: list[str]
    jurisdiction: str | None
    parties: list[str]
    case_number: str | None
    decision_date: str | None  # ISO date
    filing_date: str | None  # ISO date
    dates: list[str]  # other ISO dates mentioned, in order
    document_type: DocumentType


@dataclass(frozen=True)
class Chunk:
    ordinal: int
    start: int
    end: int
    page: int | None
    section: str | None  # the heading or numbered section the chunk belongs to
    text: str
