"""PDF extraction on real court filings and contracts, and on damaged and hostile PDFs."""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium  # type: ignore[import-untyped]
import pytest

from lexbase.ingest.errors import (
    CorruptFile,
    EncryptedPdf,
    FileRejected,
    TextTooLong,
    TooManyPages,
)
from lexbase.ingest.extract import extract
from lexbase.ingest.extractors.pdf import MIN_PAGE_ALNUM, alnum_outside_stamp, is_ecf_stamp
from lexbase.ingest.limits import Limits
from lexbase.ingest.sniff import detect
from lexbase.ingest.types import Detected, Extracted
from tests.ingest import hostile

SHARED = Path(__file__).resolve().parents[3] / "shared"
FILINGS = SHARED / "fixtures" / "court-filings"
CONTRACTS = SHARED / "fixtures" / "contracts-pdf"
CUAD_TEXT = SHARED / "eval" / "legalbench-cuad" / "corpus" / "cuad"
FILING_MANIFEST: list[dict[str, Any]] = json.loads((FILINGS / "manifest.json").read_text())["files"]
CONTRACT_MANIFEST: list[dict[str, Any]] = json.loads((CONTRACTS / "manifest.json").read_text())[
    "contracts"
]
PDF = Detected("pdf", "application/pdf")


def _pdfium_pages(data: bytes) -> int:
    document = pdfium.PdfDocument(data)
    try:
        return len(document)
    finally:
        document.close()


def _page(extracted: Extracted, number: int) -> str:
    span = extracted.pages[number - 1]
    return extracted.text[span.start : span.end]


def _filings(*kinds: str) -> list[Any]:
    return [pytest.param(e, id=e["name"]) for e in FILING_MANIFEST if e["kind"] in kinds]


@pytest.mark.parametrize("entry", _filings("text-pdf", "broken"))
def test_text_filings(entry: dict[str, Any]) -> None:
    data = (FILINGS / entry["name"]).read_bytes()
    extracted = extract(data, detect(data), Limits())
    hostile.assert_well_formed(extracted)
    assert len(extracted.pages) == _pdfium_pages(data) == entry["pages"]
    assert extracted.extractor == "pypdfium2"
    assert extracted.extractor_version == pdfium.version.PYPDFIUM_INFO.version
    assert "\r" not in extracted.text
    first = _page(extracted, 1)
    # Page 1 counts as text exactly when the manifest's own count says it has enough.
    # (x-ray/rectangles_yes_2.pdf is "text-pdf" with only "abcdefghi" on page 1.)
    assert (1 in extracted.pages_without_text) == (
        entry["page1_alnum_outside_ecf_stamp"] < MIN_PAGE_ALNUM
    )
    if entry["page1_alnum_outside_ecf_stamp"] >= 50:
        assert alnum_outside_stamp(first) >= 50
        assert 1 not in extracted.pages_without_text


@pytest.mark.parametrize("entry", _filings("scanned-pdf"))
def test_scanned_filings_go_to_ocr(entry: dict[str, Any]) -> None:
    data = (FILINGS / entry["name"]).read_bytes()
    extracted = extract(data, PDF, Limits())
    hostile.assert_well_formed(extracted)
    assert len(extracted.pages) == entry["pages"]
    assert 1 in extracted.pages_without_text


def test_page_text_is_pdfium_text_with_line_ends_normalised() -> None:
    data = (FILINGS / "recap_documents/ca1_00117684624.pdf").read_bytes()
    extracted = extract(data, PDF, Limits())
    document = pdfium.PdfDocument(data)
    try:
        for index in range(len(document)):
            raw = document[index].get_textpage().get_text_range()
            assert _page(extracted, index + 1) == raw.replace("\r\n", "\n")
    finally:
        document.close()


def test_ecf_stamp_alone_is_not_text() -> None:
    stamps = [
        "Case 4:08-cv-02214-SBA Document 26 Filed 01/29/2009 Page 1 of 2",
        "Case: 21-1298 Document: 42 Page: 1 Date Filed: 08/31/2022",
        "Appeal: 17-2218 Doc: 17 Filed: 10/31/2017 Pg: 1 of 1",
        "USCA4 Appeal: 22-1234 Doc: 12 Filed: 01/02/2023 Pg: 1 of 5",
        "Case: 20-16276, 08/05/2020, ID: 11778722, DktEntry: 19, Page 1 of 15",
        "Case: 17-2400 Document: 3 Filed: 07/13/2017 Pages: 1",
        "Appellate Case: 21-800 Document: 010110462922 Date Filed: 01/11/2021 Page: 1",
    ]
    assert all(is_ecf_stamp(stamp) for stamp in stamps)
    assert not is_ecf_stamp("In this case the document at page 4 shows the filing date.")
    assert alnum_outside_stamp("\n".join([*stamps, "XXXXXXXX"])) == 8

    body = [
        "Case 1:20-cv-01234-ABC Document 12 Filed 01/02/20 Page 2 of 2",
        "The motion to dismiss is GRANTED for the reasons stated on the record.",
    ]
    data = hostile.text_pdf([[stamps[0]], body, []])
    extracted = extract(data, PDF, Limits())
    hostile.assert_well_formed(extracted)
    assert extracted.pages_without_text == [1, 3]
    assert "GRANTED" in _page(extracted, 2)


def test_form_feed_inside_a_page_is_removed() -> None:
    data = hostile.text_pdf([["Before\fafter"], ["Second page"]])
    extracted = extract(data, PDF, Limits())
    hostile.assert_well_formed(extracted)
    assert len(extracted.pages) == 2
    assert "Beforeafter" in _page(extracted, 1)


@pytest.mark.parametrize("entry", CONTRACT_MANIFEST, ids=lambda e: e["pdf_file"][:40])
def test_contracts_extract_and_agree_with_cuad_text(entry: dict[str, Any]) -> None:
    data = (CONTRACTS / entry["pdf_file"]).read_bytes()
    extracted = extract(data, detect(data, entry["pdf_file"]), Limits())
    hostile.assert_well_formed(extracted)
    assert len(extracted.pages) == entry["pages"]
    assert extracted.pages_without_text == [] or len(extracted.pages_without_text) < len(
        extracted.pages
    )
    # Word-level recall against CUAD's text of the same contract, the manifest's measure:
    # normalisation must not lose words that pypdfium2 itself produced.
    reference = Counter(
        re.findall(r"[a-z0-9]+", (CUAD_TEXT / entry["txt_file"]).read_text().lower())
    )
    ours = Counter(re.findall(r"[a-z0-9]+", extracted.text.lower()))
    recall = sum((reference & ours).values()) / sum(reference.values())
    assert recall >= entry["word_recall_pdf_vs_txt"] - 0.001


def test_truncated_pdfs_fail_cleanly_and_quickly() -> None:
    """Truncation yields CorruptFile or a whole, consistent result — never a hang or a crash.

    PDFium refuses most truncated files outright (the xref and page tree live at the end);
    a few, like missouri.pdf, still open with every page.
    """
    names = ["recap_documents/ca1_00117684624.pdf", "vector-pdf.pdf", "missouri.pdf"]
    outcomes: dict[tuple[str, float], str] = {}
    for name in names:
        data = (FILINGS / name).read_bytes()
        for fraction in (0.3, 0.6):
            started = time.perf_counter()
            try:
                extracted = extract(hostile.truncated(data, fraction), PDF, Limits())
            except CorruptFile:
                outcomes[name, fraction] = "corrupt"
            else:
                hostile.assert_well_formed(extracted)
                outcomes[name, fraction] = "extracted"
            assert time.perf_counter() - started < 5.0
    assert outcomes["recap_documents/ca1_00117684624.pdf", 0.3] == "corrupt"
    assert outcomes["vector-pdf.pdf", 0.3] == "corrupt"


def test_garbage_after_header_is_corrupt() -> None:
    with pytest.raises(CorruptFile):
        extract(hostile.pdf_with_garbage(), PDF, Limits())


def test_encrypted_pdf_is_refused_by_extract_too() -> None:
    with pytest.raises(EncryptedPdf):
        extract(hostile.encrypted_pdf("secret"), PDF, Limits())


def test_five_thousand_pages_refused_quickly() -> None:
    data = hostile.many_page_pdf(5_000)
    assert len(data) < 2 * 1024 * 1024
    started = time.perf_counter()
    with pytest.raises(TooManyPages):
        extract(data, PDF, Limits(max_pages=2_000))
    assert time.perf_counter() - started < 2.0


def test_text_limit_is_enforced() -> None:
    data = (FILINGS / "vector-pdf.pdf").read_bytes()
    with pytest.raises(TextTooLong, match="characters"):
        extract(data, PDF, Limits(max_text_chars=10_000))


def test_every_refusal_is_a_file_rejection() -> None:
    # The worker maps FileRejected to a failed document with a stable code; nothing else
    # may escape from hostile PDF input.
    for data in (hostile.pdf_with_garbage(), hostile.encrypted_pdf("x"), b"%PDF-1.4\n%%EOF"):
        with pytest.raises(FileRejected):
            extract(data, PDF, Limits())
