"""Cheap structural checks shared by upload-time validation and extraction."""

from __future__ import annotations

import io
import struct
import threading
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from lexbase.ingest.errors import CorruptFile, DecompressionBomb, EncryptedPdf, TooManyPages
from lexbase.ingest.limits import Limits

# PDFium is not thread-safe, not even across different documents: two threads inside it at
# once can corrupt the process. Workers are single-threaded, but upload-time validation runs
# in a thread pool, so every PDFium call in this package happens under this lock.
PDFIUM_LOCK = threading.Lock()

# Below this size a high compression ratio is harmless (a few KB of repeated XML); the ratio
# only matters where the inflated size does.
_RATIO_FLOOR_BYTES = 1024 * 1024
# signature, version, flags, method, time, date, crc, compressed, uncompressed, name, extra
_LOCAL_HEADER = struct.Struct("<4s5H3I2H")
_INPUT_CHUNK = 64 * 1024
_OUTPUT_CHUNK = 1024 * 1024


@contextmanager
def open_pdf(data: bytes, limits: Limits) -> Iterator[Any]:
    """Yield an open `pdfium.PdfDocument`, holding `PDFIUM_LOCK` until it is closed.

    `data` stays referenced by this frame (and by the document) until the document is closed:
    PDFium reads from that buffer lazily, page by page.
    """
    with PDFIUM_LOCK:
        try:
            document = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as exc:
            if exc.err_code in (pdfium_c.FPDF_ERR_PASSWORD, pdfium_c.FPDF_ERR_SECURITY):
                raise EncryptedPdf() from None
            raise CorruptFile("The PDF is damaged and cannot be read") from None
        try:
            pages = len(document)
            if pages > limits.max_pages:
                raise TooManyPages(
                    f"The PDF has {pages:,} pages; at most {limits.max_pages:,} are allowed"
                )
            yield document
        finally:
            document.close()


def _members(data: bytes) -> list[zipfile.ZipInfo]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError):
        raise CorruptFile("The DOCX file is damaged (unreadable zip archive)") from None


def check_zip(data: bytes, limits: Limits) -> None:
    """Refuse zip bombs from the central directory alone: nothing is inflated here.

    This trusts the declared sizes, which is all an upload-time check can do cheaply;
    `check_zip_streams` holds every member to its declaration before anything reads it.
    """
    _check_declared(_members(data), limits)


def _check_declared(members: list[zipfile.ZipInfo], limits: Limits) -> None:
    if len(members) > limits.max_zip_members:
        raise DecompressionBomb(
            f"The archive has {len(members):,} members; at most {limits.max_zip_members:,} "
            "are allowed"
        )
    total = 0
    for member in members:
        total += member.file_size
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size > _RATIO_FLOOR_BYTES and ratio > limits.max_compression_ratio:
            raise DecompressionBomb(
                f"An archive member expands {ratio:,.0f}-fold; at most "
                f"{limits.max_compression_ratio}-fold is allowed"
            )
    if total > limits.max_decompressed_bytes:
        raise DecompressionBomb(
            f"The archive expands to {total:,} bytes; at most "
            f"{limits.max_decompressed_bytes:,} are allowed"
        )


def _inflated_size(raw: memoryview, cap: int) -> int:
    """Bytes a raw deflate stream inflates to, counting no further than `cap`.

    Output is produced and dropped a chunk at a time, so memory stays flat whatever the
    stream holds.
    """
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    total = 0
    for offset in range(0, len(raw), _INPUT_CHUNK):
        pending: bytes | memoryview = raw[offset : offset + _INPUT_CHUNK]
        while pending:
            total += len(inflater.decompress(pending, _OUTPUT_CHUNK))
            if total > cap:
                return total
            pending = inflater.unconsumed_tail
        if inflater.eof:
            return total
    return total + len(inflater.flush())


def check_zip_streams(data: bytes, limits: Limits) -> None:
    """Inflate every member, in bounded memory, and refuse any that outgrows its declaration.

    Needed because `zipfile.ZipFile.read` (which python-docx uses) inflates the whole
    compressed stream in one call and only then cuts it to the declared size: a member that
    declares 1 KB can still make it allocate gigabytes. Once every stream is known to end at
    its declared size, the central-directory totals checked by `check_zip` are real. Work is
    bounded by those totals: counting stops one byte past a declaration.
    """
    members = _members(data)
    _check_declared(members, limits)
    view = memoryview(data)
    for member in members:
        start = member.header_offset
        header = data[start : start + _LOCAL_HEADER.size]
        if len(header) < _LOCAL_HEADER.size or header[:4] != b"PK\x03\x04":
            raise CorruptFile("The DOCX file is damaged (bad zip entry)")
        *_, name_length, extra_length = _LOCAL_HEADER.unpack(header)
        begin = start + _LOCAL_HEADER.size + name_length + extra_length
        raw = view[begin : begin + member.compress_size]
        if member.flag_bits & 0x1:
            raise CorruptFile("The DOCX file has encrypted parts")
        if member.compress_type == zipfile.ZIP_STORED:
            actual = len(raw)
        elif member.compress_type == zipfile.ZIP_DEFLATED:
            try:
                actual = _inflated_size(raw, member.file_size)
            except zlib.error:
                raise CorruptFile("The DOCX file is damaged (bad compressed data)") from None
        else:
            # Word writes only stored and deflated parts.
            raise CorruptFile("The DOCX file uses an unexpected compression method")
        if actual > member.file_size:
            raise DecompressionBomb("An archive member inflates to more than it declares")
        if actual < member.file_size:
            raise CorruptFile("The DOCX file is damaged (truncated zip entry)")
