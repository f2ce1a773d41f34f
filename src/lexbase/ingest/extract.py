"""Text out of a stored upload, one extractor per detected kind.

Pure and synchronous: it runs inside worker processes, reads only the bytes it is given
(plus a temporary directory when a .doc needs converting) and raises a `FileRejected`
subclass for anything it will not process.
"""

from __future__ import annotations

from collections.abc import Callable

from lexbase.ingest.extractors.doc import extract_doc
from lexbase.ingest.extractors.docx import extract_docx
from lexbase.ingest.extractors.html import extract_html
from lexbase.ingest.extractors.pdf import extract_pdf
from lexbase.ingest.extractors.rtf import extract_rtf
from lexbase.ingest.extractors.text import extract_text
from lexbase.ingest.limits import Limits
from lexbase.ingest.sniff import validate
from lexbase.ingest.types import Detected, Extracted, FileKind

_EXTRACTORS: dict[FileKind, Callable[[bytes, Limits], Extracted]] = {
    "pdf": extract_pdf,
    "docx": extract_docx,
    "doc": extract_doc,
    "html": extract_html,
    "text": extract_text,
    "rtf": extract_rtf,
}


def extract(data: bytes, detected: Detected, limits: Limits) -> Extracted:
    # The upload path validated these bytes already, but limits may have tightened since,
    # and for DOCX this check is what keeps python-docx from inflating a zip bomb.
    validate(data, detected, limits)
    return _EXTRACTORS[detected.kind](data, limits)
