"""Detection by content (never by name) and the upload-time checks, on real and hostile files."""

from __future__ import annotations

import io
import json
import tarfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from lexbase.ingest.errors import (
    CorruptFile,
    DecompressionBomb,
    EmptyFile,
    EncryptedPdf,
    FileTooLarge,
    TooManyPages,
    UnsupportedFileType,
)
from lexbase.ingest.limits import Limits
from lexbase.ingest.sniff import CONTENT_TYPES, detect, validate
from lexbase.ingest.types import Detected
from tests.ingest import hostile

FILINGS = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "court-filings"
MANIFEST: list[dict[str, Any]] = json.loads((FILINGS / "manifest.json").read_text())["files"]
KIND_BY_MANIFEST = {
    "text-pdf": "pdf",
    "scanned-pdf": "pdf",
    "broken": "pdf",
    "doc": "doc",
    "docx": "docx",
}
PDF = Detected("pdf", "application/pdf")
DOCX = Detected("docx", CONTENT_TYPES["docx"])


def _filing_cases(*kinds: str) -> list[Any]:
    return [pytest.param(entry, id=entry["name"]) for entry in MANIFEST if entry["kind"] in kinds]


@pytest.mark.parametrize("entry", _filing_cases(*KIND_BY_MANIFEST))
def test_real_filings_are_detected_by_content(entry: dict[str, Any]) -> None:
    data = (FILINGS / entry["name"]).read_bytes()
    expected = KIND_BY_MANIFEST[entry["kind"]]
    # The name plays no part: a misleading one, or none, gives the same answer.
    for name in (entry["name"], "upload.txt", None):
        detected = detect(data, name)
        assert detected.kind == expected
        assert detected.content_type == CONTENT_TYPES[expected]


@pytest.mark.parametrize("entry", _filing_cases("broken"))
def test_pdf_with_bytes_before_the_header_is_still_a_pdf(entry: dict[str, Any]) -> None:
    data = (FILINGS / entry["name"]).read_bytes()
    assert not data.startswith(b"%PDF-")
    assert detect(data).kind == "pdf"
    validate(data, PDF, Limits())


def test_empty_file_is_refused() -> None:
    assert (FILINGS / "empty.pdf").read_bytes() == b""
    with pytest.raises(EmptyFile):
        detect(b"", "empty.pdf")
    with pytest.raises(EmptyFile):
        validate(b"", PDF, Limits())


def test_wordperfect_is_unsupported() -> None:
    with pytest.raises(UnsupportedFileType, match="WordPerfect"):
        detect((FILINGS / "word-perfect.wpd").read_bytes(), "word-perfect.wpd")


def _tar() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        member = tarfile.TarInfo("brief.txt")
        member.size = 5
        archive.addfile(member, io.BytesIO(b"hello"))
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "name", "reason"),
    [
        (hostile.elf_executable(), "brief.pdf", "ELF executable"),
        (hostile.pe_executable(), "brief.pdf", "Windows executable"),
        (b"\xcf\xfa\xed\xfe\x07\x00\x00\x01" + bytes(64), "brief.docx", "Mach-O"),
        (b"\x89PNG\r\n\x1a\n" + bytes(64), "scan.pdf", "PNG image"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF" + bytes(64), "scan.pdf", "JPEG image"),
        (b"GIF89a\x01\x00\x01\x00" + bytes(64), "scan.pdf", "GIF image"),
        (b"\x1f\x8b\x08\x00" + bytes(64), "brief.txt", "gzip archive"),
        (b"BZh91AY&SY" + bytes(64), "brief.txt", "bzip2 archive"),
        (_tar(), "brief.txt", "tar archive"),
        (hostile.plain_zip(), "brief.docx", "zip archive"),
        (hostile.jar_like_zip(), "brief.docx", "zip archive"),
        (hostile.xlsx_like_zip(), "brief.docx", "other than a Word document"),
        (bytes.fromhex("D0CF11E0A1B11AE1") + bytes(1024), "ledger.doc", "legacy Office"),
        (hostile.binary_garbage(), "notes.txt", "binary data"),
        (bytes(range(256)) * 40, "notes.txt", "binary data"),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_refused_kinds_say_what_they_are(data: bytes, name: str, reason: str) -> None:
    with pytest.raises(UnsupportedFileType, match=reason):
        detect(data, name)


def test_text_that_starts_like_a_magic_number_is_still_text() -> None:
    for opening in (b"MZ Holdings v. Doe", b"BZh, the court said", b"GIF8 of the record"):
        assert detect(opening + b" -- a short memo about the case.\n").kind == "text"


def test_docx_is_a_zip_with_word_parts() -> None:
    detected = detect(hostile.docx_bytes(), "contract.pdf")
    assert detected == DOCX


def test_damaged_docx_is_detected_then_refused_as_corrupt() -> None:
    data = hostile.truncated(hostile.docx_bytes(), 0.5)
    detected = detect(data)
    assert detected == DOCX
    with pytest.raises(CorruptFile):
        validate(data, detected, Limits())


def test_text_kinds_and_the_extension_tie_break() -> None:
    assert detect(b"{\\rtf1\\ansi Hello}").kind == "rtf"
    assert detect(b"\xef\xbb\xbf  <!DOCTYPE html><html><body>x</body></html>").kind == "html"
    html16 = "<html><body><p>Motion</p></body></html>".encode("utf-16")
    assert detect(html16).kind == "html"
    fragment = b"<p>The court <b>grants</b> the motion.</p>"
    assert detect(fragment, "order.txt").kind == "text"
    # Only between text-ish kinds does the name decide.
    assert detect(fragment, "order.HTML").kind == "html"
    assert detect(b"Plain memo text.\n", "memo.html").kind == "html"
    with pytest.raises(UnsupportedFileType):
        detect(hostile.elf_executable(), "memo.html")


def test_plain_text_in_several_encodings_is_text() -> None:
    sentence = "The Court\u2019s \u201cfinal\u201d order \u2014 \u00a7 1983 \u2014 was affirmed.\n"
    for data in (
        sentence.encode("utf-8"),
        sentence.encode("utf-16"),
        sentence.encode("utf-16-be"),
        sentence.encode("utf-8-sig"),
        (sentence * 20).encode("cp1252"),
        ("Résumé of the défendant's naïve plea. " * 10).encode("latin-1"),
    ):
        detected = detect(data, None)
        assert detected.kind == "text", data[:40]
        assert detected.content_type == "text/plain"


def test_text_that_mentions_a_pdf_header_is_not_a_pdf() -> None:
    data = b"Note: a PDF file starts with %PDF-1.7 and ends with %%EOF.\n"
    assert detect(data).kind == "text"


def test_large_text_is_sniffed_from_a_sample_quickly() -> None:
    data = ("Paragraph of a long brief, with a citation to 410 U.S. 113. " * 400_000).encode()
    started = time.perf_counter()
    assert detect(data).kind == "text"
    assert time.perf_counter() - started < 2.0


def test_garbage_after_pdf_header_is_corrupt() -> None:
    data = hostile.pdf_with_garbage()
    assert detect(data) == PDF
    with pytest.raises(CorruptFile):
        validate(data, PDF, Limits())


def test_encrypted_pdf_is_refused() -> None:
    data = hostile.encrypted_pdf("secret")
    assert detect(data) == PDF
    with pytest.raises(EncryptedPdf):
        validate(data, PDF, Limits())


def test_encrypted_test_file_really_opens_with_its_password() -> None:
    # Guards the test above: the refusal is about encryption, not a malformed file.
    import pypdfium2 as pdfium  # type: ignore[import-untyped]

    document = pdfium.PdfDocument(hostile.encrypted_pdf("secret"), password="secret")
    try:
        textpage = document[0].get_textpage()
        assert "Privileged and confidential" in textpage.get_text_range()
    finally:
        document.close()


def test_too_many_pages_is_refused_quickly() -> None:
    data = hostile.many_page_pdf(5_000)
    started = time.perf_counter()
    with pytest.raises(TooManyPages, match="5,000 pages"):
        validate(data, PDF, Limits(max_pages=2_000))
    assert time.perf_counter() - started < 2.0
    validate(data, PDF, Limits(max_pages=5_000))


def test_oversized_upload_is_refused() -> None:
    with pytest.raises(FileTooLarge):
        validate(b"x" * 101, Detected("text", "text/plain"), Limits(max_bytes=100))


@pytest.fixture(scope="module")
def zip_bomb() -> bytes:
    # 210 MiB of zeros (over the 200 MiB default), about 0.2 MB compressed.
    return hostile.docx_zip_bomb(210 * 1024 * 1024)


def test_docx_zip_bomb_is_refused_without_inflating(zip_bomb: bytes) -> None:
    assert len(zip_bomb) < 1024 * 1024
    assert detect(zip_bomb) == DOCX
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(DecompressionBomb):
            validate(zip_bomb, DOCX, Limits())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2 * 1024 * 1024
    assert time.perf_counter() - started < 1.0


def test_high_ratio_member_is_a_bomb_even_under_the_total() -> None:
    data = hostile.docx_zip_bomb(20 * 1024 * 1024)  # ~1000:1, 20 MiB in all
    with pytest.raises(DecompressionBomb, match="fold"):
        validate(data, DOCX, Limits())


def test_too_many_zip_members_is_a_bomb() -> None:
    data = hostile.docx_many_members(2_001)
    with pytest.raises(DecompressionBomb, match="members"):
        validate(data, DOCX, Limits())
    validate(hostile.docx_many_members(100), DOCX, Limits())


def test_ordinary_docx_passes_validation() -> None:
    validate(hostile.docx_bytes(), DOCX, Limits())
    validate((FILINGS / "word-docx.docx").read_bytes(), DOCX, Limits())
