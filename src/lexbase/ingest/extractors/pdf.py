"""PDF text via PDFium, page by page, with the pages that need OCR singled out."""

from __future__ import annotations

import re
from typing import Any

import pypdfium2 as pdfium

from lexbase.ingest.errors import CorruptFile
from lexbase.ingest.extractors.common import check_text_size, join_pages, library_version
from lexbase.ingest.extractors.guards import open_pdf
from lexbase.ingest.limits import Limits
from lexbase.ingest.types import PAGE_SEPARATOR, Extracted

# A page with fewer letters/digits than this (outside the ECF stamp) is an image of text,
# or a cover with nothing to search: route it to OCR.
MIN_PAGE_ALNUM = 20

# The header CM/ECF stamps across the top of every filed page, in district and appellate
# styles: "Case 1:20-cv-01234-ABC Document 12 Filed 01/02/20 Page 1 of 5",
# "Case: 21-1298 Document: 42 Page: 1 Date Filed: 08/31/2022",
# "Appeal: 17-2218 Doc: 17 Filed: 10/31/2017 Pg: 1 of 1",
# "Case: 20-16276, 08/05/2020, ID: 11778722, DktEntry: 19, Page 1 of 15",
# "Case: 17-2400 Document: 3 Filed: 07/13/2017 Pages: 1".
# A scanned filing often has this stamp as its only text layer, so it must not count as text.
_ECF_STAMP = re.compile(
    r"^(?:USCA\d+\s+)?(?:Appellate\s+)?(?:Case|Appeal)\s*:?\s*\S+"
    r".*?\b(?:Document|Doc|DktEntry)\s*:?\s*[\w-]+"
    r".*?\b(?:Pages?|Pg)\s*:?\s*\d+"
)
# Stamps are short; a long line is body text and is not worth the regex's time.
_MAX_STAMP_LINE = 250
# PDFium ends lines with CRLF and may leave stray NULs and form feeds: the first would read
# as two line breaks to some consumers, PostgreSQL refuses NUL in text, and a form feed
# inside a page would read as a page break.
_LINE_ENDS = re.compile(r"\r\n?")
_STRAY = re.compile("[\x00\f]")


def is_ecf_stamp(line: str) -> bool:
    line = line.strip()
    return len(line) <= _MAX_STAMP_LINE and _ECF_STAMP.match(line) is not None


def alnum_outside_stamp(page_text: str) -> int:
    """Letters and digits on a page, not counting ECF header stamp lines."""
    return sum(
        sum(1 for char in line if char.isalnum())
        for line in page_text.split("\n")
        if not is_ecf_stamp(line)
    )


def _normalise(raw: str) -> str:
    return _STRAY.sub("", _LINE_ENDS.sub("\n", raw))


def _page_text(document: Any, index: int) -> str:
    try:
        page = document[index]
    except pdfium.PdfiumError:
        raise CorruptFile(f"Page {index + 1} of the PDF is damaged and cannot be read") from None
    try:
        textpage = page.get_textpage()
        try:
            return _normalise(str(textpage.get_text_range()))
        finally:
            textpage.close()
    except pdfium.PdfiumError:
        raise CorruptFile(f"Page {index + 1} of the PDF is damaged and cannot be read") from None
    finally:
        page.close()


def extract_pdf(data: bytes, limits: Limits) -> Extracted:
    pages: list[str] = []
    chars = 0
    with open_pdf(data, limits) as document:
        for index in range(len(document)):
            text = _page_text(document, index)
            chars += len(text) + len(PAGE_SEPARATOR)
            check_text_size(chars, limits.max_text_chars)
            pages.append(text)
    joined, spans = join_pages(pages)
    return Extracted(
        text=joined,
        pages=spans,
        extractor="pypdfium2",
        extractor_version=library_version("pypdfium2"),
        pages_without_text=[
            number
            for number, text in enumerate(pages, start=1)
            if alnum_outside_stamp(text) < MIN_PAGE_ALNUM
        ],
    )
