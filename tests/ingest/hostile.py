"""Hostile and synthetic files, built in code at test time so nothing large sits on disk;
and the invariants every extraction result must keep."""

from __future__ import annotations

import hashlib
import io
import random
import struct
import zipfile
import zlib
from collections.abc import Sequence

import docx
import pypdfium2 as pdfium  # type: ignore[import-untyped]

from lexbase.ingest.types import PAGE_SEPARATOR, Extracted

# The padding string of the PDF standard security handler (ISO 32000-1, 7.6.3.3).
_PASSWORD_PAD = bytes.fromhex("28BF4E5E4E758A4164004E56FFFA01082E2E00B6D0683E802F0CA9FE6453697A")
_KEY_BYTES = 5  # revision 2: 40-bit RC4
_ZERO_CHUNK = bytes(1024 * 1024)


def build_pdf(objects: Sequence[bytes], trailer: bytes = b"") -> bytes:
    """A PDF with the given objects (numbered from 1; object 1 is the catalog) and exact xref."""
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R %s >>\n" % (len(objects) + 1, trailer)
    out += b"startxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


def _text_stream(lines: Sequence[str]) -> bytes:
    ops = [b"BT /F1 11 Tf 14 TL 72 740 Td"]
    for line in lines:
        escaped = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        ops.append(b"(" + escaped.encode("latin-1") + b") Tj T*")
    ops.append(b"ET")
    return b"\n".join(ops)


def text_pdf(pages: Sequence[Sequence[str]]) -> bytes:
    """A real text-layer PDF: one page per entry, each a list of lines in Helvetica."""
    count = len(pages)
    page_numbers = [4 + 2 * i for i in range(count)]
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>"
        % (b" ".join(b"%d 0 R" % n for n in page_numbers), count),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    for index, lines in enumerate(pages):
        content = _text_stream(lines)
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>"
            % (page_numbers[index] + 1)
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream")
    return build_pdf(objects)


def _rc4(key: bytes, data: bytes) -> bytes:
    state = list(range(256))
    j = 0
    for i in range(256):
        j = (j + state[i] + key[i % len(key)]) % 256
        state[i], state[j] = state[j], state[i]
    out = bytearray()
    i = j = 0
    for byte in data:
        i = (i + 1) % 256
        j = (j + state[i]) % 256
        state[i], state[j] = state[j], state[i]
        out.append(byte ^ state[(state[i] + state[j]) % 256])
    return bytes(out)


def _md5(data: bytes) -> bytes:
    return hashlib.md5(data, usedforsecurity=False).digest()


def encrypted_pdf(user_password: str, text: str = "Privileged and confidential") -> bytes:
    """A genuinely encrypted PDF (standard handler, RC4 40-bit, revision 2).

    pypdf is not installed and PDFium cannot write encryption, so the handler's algorithms
    (ISO 32000-1, 7.6.3.3 algorithms 2-4) are done here; the file opens with the password.
    """
    padded_user = (user_password.encode("latin-1") + _PASSWORD_PAD)[:32]
    padded_owner = (b"owner-" + user_password.encode("latin-1") + _PASSWORD_PAD)[:32]
    owner_entry = _rc4(_md5(padded_owner)[:_KEY_BYTES], padded_user)
    permissions = -4
    file_id = _md5(b"lexbase-test-file-id")
    key = _md5(padded_user + owner_entry + permissions.to_bytes(4, "little", signed=True) + file_id)
    key = key[:_KEY_BYTES]
    user_entry = _rc4(key, _PASSWORD_PAD)

    content = _text_stream([text])
    content_number = 4
    object_key = _md5(key + content_number.to_bytes(3, "little") + (0).to_bytes(2, "little"))
    encrypted_content = _rc4(object_key[: _KEY_BYTES + 5], content)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(encrypted_content) + encrypted_content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Filter /Standard /V 1 /R 2 /O <%s> /U <%s> /P %d >>"
        % (owner_entry.hex().encode(), user_entry.hex().encode(), permissions),
    ]
    trailer = b"/Encrypt 6 0 R /ID [<%s> <%s>]" % (file_id.hex().encode(), file_id.hex().encode())
    return build_pdf(objects, trailer)


def many_page_pdf(pages: int) -> bytes:
    """A PDF of blank pages made with PDFium itself."""
    document = pdfium.PdfDocument.new()
    try:
        for _ in range(pages):
            document.new_page(612, 792).close()
        buffer = io.BytesIO()
        document.save(buffer)
    finally:
        document.close()
    return buffer.getvalue()


def pdf_with_garbage(size: int = 20_000, seed: int = 7) -> bytes:
    return b"%PDF-1.7\n" + random.Random(seed).randbytes(size)


def truncated(data: bytes, fraction: float) -> bytes:
    return data[: int(len(data) * fraction)]


def elf_executable() -> bytes:
    # ELF64 little-endian header of an x86-64 executable, then zeroed sections.
    header = b"\x7fELF\x02\x01\x01\x00" + bytes(8) + b"\x02\x00\x3e\x00\x01\x00\x00\x00"
    return header + bytes(4096)


def pe_executable() -> bytes:
    # DOS stub whose e_lfanew (offset 0x3C) points at a "PE\0\0" header.
    dos = bytearray(b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00")
    dos += bytes(0x3C - len(dos)) + (0x80).to_bytes(4, "little")
    dos += b"This program cannot be run in DOS mode.\r\r\n$".ljust(0x80 - len(dos), b"\x00")
    return bytes(dos) + b"PE\x00\x00\x64\x86" + bytes(2048)


def binary_garbage(size: int = 8192, seed: int = 3) -> bytes:
    return random.Random(seed).randbytes(size)


def docx_bytes(build: docx.document.Document | None = None) -> bytes:
    document = build if build is not None else docx.Document()
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def damaged_docx() -> bytes:
    """A readable zip (accepted at upload) whose document part is not XML (fails to extract)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(docx_bytes())) as source, zipfile.ZipFile(buffer, "w") as out:
        for item in source.infolist():
            payload = source.read(item)
            if item.filename == "word/document.xml":
                payload = b"<w:document><not-closed>"
            out.writestr(item, payload)
    return buffer.getvalue()


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


_CONTENT_TYPES = b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>'


def docx_zip_bomb(zero_bytes: int) -> bytes:
    """A DOCX-shaped zip whose word/document.xml inflates to `zero_bytes` zeros.

    Written in 1 MiB chunks so building it never holds the inflated data in memory.
    """
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        with archive.open("word/document.xml", "w", force_zip64=True) as member:
            written = 0
            while written < zero_bytes:
                chunk = _ZERO_CHUNK[: min(len(_ZERO_CHUNK), zero_bytes - written)]
                member.write(chunk)
                written += len(chunk)
    return buffer.getvalue()


def docx_lying_sizes(zero_bytes: int, declared: int) -> bytes:
    """A DOCX-shaped zip whose word/document.xml declares `declared` bytes (with the CRC of
    that many zeros, so a reader that stops there finds nothing wrong) but inflates to
    `zero_bytes`: harmless by its central directory, a bomb for `ZipFile.read`."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        with archive.open("word/document.xml", "w") as member:
            for start in range(0, zero_bytes, len(_ZERO_CHUNK)):
                member.write(_ZERO_CHUNK[: min(len(_ZERO_CHUNK), zero_bytes - start)])
    data = bytearray(buffer.getvalue())
    crc = zlib.crc32(bytes(declared))
    name = b"word/document.xml"
    local = data.index(b"PK\x03\x04" + b"\x14\x00", 0)
    while data[local + 30 : local + 30 + len(name)] != name:
        local = data.index(b"PK\x03\x04", local + 4)
    struct.pack_into("<I", data, local + 14, crc)
    struct.pack_into("<I", data, local + 22, declared)
    central = data.index(b"PK\x01\x02")
    while data[central + 46 : central + 46 + len(name)] != name:
        central = data.index(b"PK\x01\x02", central + 4)
    struct.pack_into("<I", data, central + 16, crc)
    struct.pack_into("<I", data, central + 24, declared)
    return bytes(data)


def docx_many_members(count: int) -> bytes:
    members = {"[Content_Types].xml": _CONTENT_TYPES}
    members.update({f"word/media/part{i}.xml": b"<x/>" for i in range(count)})
    return _zip(members)


def plain_zip() -> bytes:
    return _zip({"notes.txt": b"hello", "brief.pdf": b"%PDF-1.4 not really"})


def xlsx_like_zip() -> bytes:
    return _zip({"[Content_Types].xml": _CONTENT_TYPES, "xl/workbook.xml": b"<workbook/>"})


def jar_like_zip() -> bytes:
    return _zip({"META-INF/MANIFEST.MF": b"Manifest-Version: 1.0\n", "a/B.class": b"\xca\xfe"})


def billion_laughs_html(levels: int = 9) -> bytes:
    """The classic entity-expansion payload in an HTML file (about 3 GB if expanded)."""
    entities = ['<!ENTITY lol0 "lol">']
    for level in range(1, levels + 1):
        entities.append(f'<!ENTITY lol{level} "{f"&lol{level - 1};" * 10}">')
    doctype = "<!DOCTYPE html [\n" + "\n".join(entities) + "\n]>"
    body = f"<html><body><p>Before &lol{levels}; after</p></body></html>"
    return (doctype + "\n" + body).encode("ascii")


def assert_well_formed(extracted: Extracted) -> None:
    """Pages are numbered 1..n, joined by exactly one separator, and their spans index them."""
    assert [span.page for span in extracted.pages] == list(range(1, len(extracted.pages) + 1))
    pages = [extracted.text[span.start : span.end] for span in extracted.pages]
    assert PAGE_SEPARATOR.join(pages) == extracted.text
    assert all(PAGE_SEPARATOR not in page for page in pages)
    assert set(extracted.pages_without_text) <= {span.page for span in extracted.pages}
    assert "\x00" not in extracted.text
    extracted.text.encode("utf-8")  # no lone surrogates: the text must be storable
