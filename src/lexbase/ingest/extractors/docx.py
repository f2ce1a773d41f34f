"""DOCX body text via python-docx: paragraphs in document order, table cells included."""

from __future__ import annotations

import io
import zipfile
import zlib
from collections.abc import Iterator

import docx
from docx.opc.exceptions import PackageNotFoundError
from lxml import etree

from lexbase.ingest.errors import CorruptFile, UnsupportedFileType
from lexbase.ingest.extractors.common import check_text_size, library_version, single_page
from lexbase.ingest.extractors.guards import check_zip_streams
from lexbase.ingest.limits import Limits
from lexbase.ingest.types import Extracted

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_MC = "{http://schemas.openxmlformats.org/markup-compatibility/2006}"
_PARAGRAPH = f"{_W}p"
_TEXT = f"{_W}t"
_TEXT_BOX = f"{_W}txbxContent"
# Run content that stands for a character. Deleted text (w:delText) and field codes
# (w:instrText) have their own tags and so are left out, as Word leaves them out on screen.
_RUN_CHARACTERS = {
    f"{_W}tab": "\t",
    f"{_W}ptab": "\t",
    f"{_W}br": "\n",
    f"{_W}cr": "\n",
    f"{_W}noBreakHyphen": "-",
}
# Markup compatibility stores a shape twice (a modern Choice and a VML Fallback); reading
# both would repeat every text box.
_FALLBACK = f"{_MC}Fallback"

# python-docx itself reads XML with resolve_entities=False and no network; the zip's members
# are held to their declared sizes before python-docx opens it.
_PARSE_ERRORS = (
    PackageNotFoundError,
    KeyError,
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    etree.XMLSyntaxError,
)


def _paragraph(paragraph: etree._Element) -> tuple[str, list[etree._Element]]:
    """A paragraph's text, and the text boxes anchored in it (read after it, as blocks)."""
    parts: list[str] = []
    boxes: list[etree._Element] = []
    stack = [iter(paragraph)]
    while stack:
        child = next(stack[-1], None)
        if child is None:
            stack.pop()
            continue
        tag = child.tag
        if not isinstance(tag, str) or tag == _FALLBACK:
            continue
        if tag == _TEXT_BOX:
            boxes.append(child)
        elif tag == _TEXT:
            parts.append(child.text or "")
        elif tag in _RUN_CHARACTERS:
            parts.append(_RUN_CHARACTERS[tag])
        else:
            stack.append(iter(child))
    return "".join(parts), boxes


def _lines(body: etree._Element) -> Iterator[str]:
    """One line per paragraph, in document order, descending into tables, content controls
    and text boxes. Iterative, because hostile files nest tables deeply."""
    stack = [iter(body)]
    while stack:
        child = next(stack[-1], None)
        if child is None:
            stack.pop()
            continue
        tag = child.tag
        if not isinstance(tag, str) or tag == _FALLBACK:
            continue
        if tag == _PARAGRAPH:
            text, boxes = _paragraph(child)
            yield text
            stack.extend(iter(box) for box in reversed(boxes))
        else:
            stack.append(iter(child))


def extract_docx(data: bytes, limits: Limits) -> Extracted:
    check_zip_streams(data, limits)
    try:
        document = docx.Document(io.BytesIO(data))
    except ValueError:
        # python-docx refuses packages whose main part is not a plain document.
        raise UnsupportedFileType(
            "Only Word documents (.docx) are supported, not templates or macro-enabled files"
        ) from None
    except _PARSE_ERRORS:
        raise CorruptFile("The DOCX file is damaged and cannot be read") from None
    lines: list[str] = []
    chars = 0
    for line in _lines(document.element.body):
        chars += len(line) + 1
        check_text_size(chars, limits.max_text_chars)
        lines.append(line)
    return single_page("\n".join(lines), "python-docx", library_version("python-docx"))
