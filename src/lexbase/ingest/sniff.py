"""What a file is, decided by its content; and the cheap checks to run before it is stored.

The file name is never trusted: it only breaks ties between text-ish kinds (a text file
named `.html` is parsed as HTML). Nothing here inflates or parses a document body: detection
reads magic numbers, a zip's central directory and a 64 KiB text sample; validation adds the
PDF's trailer and page tree. Both are meant for upload time.
"""

from __future__ import annotations

import io
import re
import zipfile

from lexbase.ingest.errors import EmptyFile, FileTooLarge, UnsupportedFileType
from lexbase.ingest.extractors.guards import check_zip, open_pdf
from lexbase.ingest.extractors.text import bom_encoding, sample_is_text
from lexbase.ingest.limits import Limits
from lexbase.ingest.types import Detected, FileKind

CONTENT_TYPES: dict[FileKind, str] = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "doc": "application/msword",
    "rtf": "application/rtf",
    "html": "text/html",
    "text": "text/plain",
}

# Readers (PDFium included) accept a header anywhere in the first KiB; court systems do
# deliver files with a stray line break or "%%EOF" before it.
_PDF_HEADER_WINDOW = 1024
_PDF_HEADER = re.compile(rb"%PDF-\d\.\d")
_OLE2 = bytes.fromhex("D0CF11E0A1B11AE1")
_WORD_STREAM = "WordDocument".encode("utf-16-le")
_TEXT_SAMPLE = 64 * 1024
_HTML_HEAD = 1024
_HTML_START = re.compile(r"<(?:!doctype\s+html|html|head|body)[\s>/]", re.IGNORECASE)
_HTML_EXTENSIONS = (".html", ".htm", ".xhtml")

# (((offset, magic), ...), what it is) for formats refused outright, so the refusal can say
# why. Magic numbers that ordinary text could begin with carry a second, binary part.
_REFUSED: tuple[tuple[tuple[tuple[int, bytes], ...], str], ...] = (
    (((0, b"\x7fELF"),), "an ELF executable"),
    (((0, b"\xfe\xed\xfa\xce"),), "a Mach-O executable"),
    (((0, b"\xfe\xed\xfa\xcf"),), "a Mach-O executable"),
    (((0, b"\xce\xfa\xed\xfe"),), "a Mach-O executable"),
    (((0, b"\xcf\xfa\xed\xfe"),), "a Mach-O executable"),
    (((0, b"\xca\xfe\xba\xbe"),), "a Mach-O or Java class file"),
    (((0, b"\x89PNG\r\n\x1a\n"),), "a PNG image"),
    (((0, b"\xff\xd8\xff"),), "a JPEG image"),
    (((0, b"GIF8"), (5, b"a")), "a GIF image"),
    (((0, b"II*\x00"),), "a TIFF image"),
    (((0, b"MM\x00*"),), "a TIFF image"),
    (((0, b"\x1f\x8b"),), "a gzip archive"),
    (((0, b"BZh"), (4, b"1AY&SY")), "a bzip2 archive"),
    (((0, b"\xfd7zXZ\x00"),), "an xz archive"),
    (((0, b"7z\xbc\xaf\x27\x1c"),), "a 7-Zip archive"),
    (((0, b"Rar!\x1a\x07"),), "a RAR archive"),
    (((0, b"\x28\xb5\x2f\xfd"),), "a zstd archive"),
    (((0, b"MSCF\x00\x00\x00\x00"),), "a cabinet archive"),
    (((257, b"ustar\x00"),), "a tar archive"),
    (((257, b"ustar  \x00"),), "a tar archive"),
    (((0, b"\xffWPC"),), "a WordPerfect document"),
)


def _refuse(what: str) -> UnsupportedFileType:
    return UnsupportedFileType(
        f"Unsupported file type ({what}); upload PDF, DOCX, DOC, HTML or plain text"
    )


def _detected(kind: FileKind) -> Detected:
    return Detected(kind=kind, content_type=CONTENT_TYPES[kind])


def _refused_binary(data: bytes) -> str | None:
    for parts, what in _REFUSED:
        if all(data[offset : offset + len(magic)] == magic for offset, magic in parts):
            return what
    # "MZ" alone could begin a sentence; a DOS/PE header has NUL bytes right after it.
    if data.startswith(b"MZ") and b"\x00" in data[:64]:
        return "a Windows executable"
    return None


def _zip_kind(data: bytes) -> Detected:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError):
        # A damaged DOCX still names its parts in the local headers at the front; let
        # validation report it as damaged rather than as an unknown type.
        if b"word/" in data[:_TEXT_SAMPLE]:
            return _detected("docx")
        raise _refuse("a damaged zip archive") from None
    if "[Content_Types].xml" not in names:
        raise _refuse("a zip archive")
    if not any(name.startswith("word/") for name in names):
        raise _refuse("an Office file other than a Word document")
    return _detected("docx")


def _text_head(data: bytes) -> str:
    """The first characters of a text-ish file, BOM removed, for HTML and RTF sniffing."""
    encoding = bom_encoding(data)
    if encoding is None:
        # Latin-1 maps every byte, and the markers looked for are ASCII.
        return data[:_HTML_HEAD].decode("latin-1")
    return data[: _HTML_HEAD * 4].decode(encoding, errors="ignore")


def _pdf_after_junk(data: bytes) -> bool:
    match = _PDF_HEADER.search(data, 0, _PDF_HEADER_WINDOW)
    # Text that merely mentions "%PDF-1.4" near its start is not a PDF: a real one has objects.
    return match is not None and b"endobj" in data


def detect(data: bytes, filename: str | None = None) -> Detected:
    """The kind of `data`, by content. Raises EmptyFile or UnsupportedFileType."""
    if not data:
        raise EmptyFile()
    if data.startswith(b"%PDF-"):
        return _detected("pdf")
    refused = _refused_binary(data)
    if refused is not None:
        raise _refuse(refused)
    if data.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return _zip_kind(data)
    if data.startswith(_OLE2):
        # OLE2 also holds .xls, .ppt and .msg; only Word files have a WordDocument stream.
        if _WORD_STREAM in data:
            return _detected("doc")
        raise _refuse("a legacy Office file other than a Word document")
    if _pdf_after_junk(data):
        return _detected("pdf")

    head = _text_head(data).lstrip()
    if head.startswith("{\\rtf"):
        return _detected("rtf")
    if head.startswith("<") and _HTML_START.search(head) is not None:
        return _detected("html")
    sample = data[:_TEXT_SAMPLE]
    if not sample_is_text(sample, complete=len(sample) == len(data)):
        raise _refuse("binary data")
    if filename is not None and filename.lower().endswith(_HTML_EXTENSIONS):
        return _detected("html")
    return _detected("text")


def validate(data: bytes, detected: Detected, limits: Limits) -> None:
    """Cheap checks before storing: size, PDF encryption/damage/pages, DOCX zip bombs."""
    if not data:
        raise EmptyFile()
    if len(data) > limits.max_bytes:
        raise FileTooLarge(
            f"The file is {len(data):,} bytes; at most {limits.max_bytes:,} are allowed"
        )
    if detected.kind == "pdf":
        with open_pdf(data, limits):
            pass
    elif detected.kind == "docx":
        check_zip(data, limits)
