"""Pieces every extractor shares: page joining, the text-size bound, library versions."""

from __future__ import annotations

from collections.abc import Sequence
from importlib import metadata

from lexbase.ingest.errors import TextTooLong
from lexbase.ingest.types import PAGE_SEPARATOR, Extracted, PageSpan


def join_pages(pages: Sequence[str]) -> tuple[str, list[PageSpan]]:
    """Join page texts with the page separator; each span indexes its page in the result."""
    spans: list[PageSpan] = []
    start = 0
    for number, page in enumerate(pages, start=1):
        spans.append(PageSpan(page=number, start=start, end=start + len(page)))
        start += len(page) + len(PAGE_SEPARATOR)
    return PAGE_SEPARATOR.join(pages), spans


def check_text_size(chars: int, max_text_chars: int) -> None:
    # A small file can still carry an enormous amount of text (compressed streams,
    # repeated runs); refuse before it reaches chunking and embedding.
    if chars > max_text_chars:
        raise TextTooLong(f"The document's text exceeds the limit of {max_text_chars:,} characters")


def library_version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "unknown"


def single_page(text: str, extractor: str, version: str, encoding: str | None = None) -> Extracted:
    """Formats without fixed pages (DOCX, HTML, RTF) are one page."""
    # A stray form feed would read as a page break to everything downstream.
    text = text.replace(PAGE_SEPARATOR, "\n")
    return Extracted(
        text=text,
        pages=[PageSpan(page=1, start=0, end=len(text))],
        extractor=extractor,
        extractor_version=version,
        encoding=encoding,
    )
