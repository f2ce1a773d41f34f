"""OCR of scanned pages with the real tesseract binary: accuracy on reference scans, the
pipeline on image-only PDFs and scanned court filings, timeouts, and the PNG the renderer makes.

Needs `tesseract-ocr` (bash scripts/provision-services.sh). Outside CI a missing binary skips
these tests with the reason; with CI=true it fails them.
"""

from __future__ import annotations

import json
import os
import random
import re
import statistics
import struct
import time
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from lexbase.ingest import pipeline
from lexbase.ingest.extract import extract
from lexbase.ingest.limits import Limits
from lexbase.ingest.ocr import (
    MAX_PAGE_PIXELS,
    MAX_PAGE_SIDE,
    encode_png_grey,
    normalise,
    ocr_pages,
    render_page_png,
)
from lexbase.ingest.pipeline import PipelineOutput, merge_ocr, run_pipeline
from lexbase.ingest.types import PAGE_SEPARATOR, Detected
from lexbase.providers.ocr import (
    OcrFailed,
    OcrTimeout,
    RapidOcr,
    TesseractOcr,
    get_ocr_engine,
)
from tests.ingest import hostile

SHARED = Path(__file__).resolve().parents[3] / "shared"
SCANS = SHARED / "fixtures" / "scans"
FILINGS = SHARED / "fixtures" / "court-filings"
SCAN_PAGES = sorted(SCANS.glob("*.png"))
PDF = Detected("pdf", "application/pdf")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

# Measured with tesseract 5.3.0 (Debian 12), eng data, --psm 1, against CAP's ALTO text (itself
# OCR, so a perfect engine would not reach 0): worst page 0.0160, mean 0.0062, median 0.0041;
# the three pages rendered from scanned-opinion.pdf 0.0034-0.0038. Thresholds sit a little above.
MAX_PAGE_CER = 0.02
MAX_MEAN_CER = 0.008
MAX_PDF_PAGE_CER = 0.006

# Typography the reference and tesseract spell differently without either being wrong.
_TYPOGRAPHY = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2014": "-",
        "\u2013": "-",
        "\u00ad": "",
    }
)


def levenshtein(a: str, b: str) -> int:
    """Edit distance by the Myers/Hyyrö bit-vector algorithm: a page in milliseconds, where
    the textbook O(n*m) table takes seconds in Python."""
    if not a or not b:
        return len(a) + len(b)
    mask = (1 << len(a)) - 1
    last = 1 << (len(a) - 1)
    positions: dict[str, int] = {}
    for index, char in enumerate(a):
        positions[char] = positions.get(char, 0) | (1 << index)
    plus, minus, score = mask, 0, len(a)
    for char in b:
        equal = positions.get(char, 0)
        vertical = equal | minus
        horizontal = (((equal & plus) + plus) ^ plus) | equal
        h_plus = minus | ~(horizontal | plus)
        h_minus = plus & horizontal
        if h_plus & last:
            score += 1
        elif h_minus & last:
            score -= 1
        h_plus = (h_plus << 1) | 1  # row 0 of the table grows by one per column
        h_minus <<= 1
        plus = (h_minus | ~(vertical | h_plus)) & mask
        minus = h_plus & vertical & mask
    return score


def cer(reference: str, hypothesis: str) -> float:
    """Character error rate with whitespace collapsed and quotes/dashes unified on both sides."""
    ref = " ".join(reference.translate(_TYPOGRAPHY).split())
    hyp = " ".join(hypothesis.translate(_TYPOGRAPHY).split())
    return levenshtein(ref, hyp) / max(len(ref), 1)


def letters(text: str) -> int:
    return sum(1 for char in text if char.isalpha())


@pytest.fixture(scope="module")
def engine() -> TesseractOcr:
    if not TesseractOcr.available():
        reason = (
            "tesseract with eng+osd data is not installed "
            "(apt-get install tesseract-ocr, or bash scripts/provision-services.sh)"
        )
        if IN_CI:
            pytest.fail(f"{reason}; CI=true: a missing OCR engine is a failure", pytrace=False)
        pytest.skip(reason)
    return TesseractOcr()


@pytest.fixture(scope="module")
def scan_texts(engine: TesseractOcr) -> dict[str, str]:
    # Each page is its own single-threaded tesseract process, so pages run side by side.
    def read(png: Path) -> str:
        return normalise(engine.recognize(png.read_bytes(), timeout=120))

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        return dict(zip([p.name for p in SCAN_PAGES], pool.map(read, SCAN_PAGES), strict=True))


@pytest.fixture(scope="module")
def scanned_opinion(engine: TesseractOcr) -> PipelineOutput:
    return run_pipeline((SCANS / "scanned-opinion.pdf").read_bytes(), PDF, Limits())


def test_levenshtein_matches_the_textbook_table() -> None:
    def table(a: str, b: str) -> int:
        row = list(range(len(b) + 1))
        for i, x in enumerate(a, 1):
            previous, row[0] = row[0], i
            for j, y in enumerate(b, 1):
                previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (x != y))
        return row[-1]

    rng = random.Random(7)
    for _ in range(300):
        a = "".join(rng.choices("abc ", k=rng.randint(0, 90)))
        b = "".join(rng.choices("abcd", k=rng.randint(0, 90)))
        assert levenshtein(a, b) == table(a, b), (a, b)
    assert levenshtein("kitten", "sitting") == 3


def test_scans_are_all_present() -> None:
    assert len(SCAN_PAGES) == 12, f"expected 12 reference scans in {SCANS}"


@pytest.mark.parametrize("png", SCAN_PAGES, ids=lambda p: p.stem)
def test_page_cer_on_reference_scans(png: Path, scan_texts: dict[str, str]) -> None:
    reference = png.with_suffix(".txt").read_text()
    assert cer(reference, scan_texts[png.name]) < MAX_PAGE_CER


def test_mean_cer_on_reference_scans(scan_texts: dict[str, str]) -> None:
    rates = [cer(p.with_suffix(".txt").read_text(), scan_texts[p.name]) for p in SCAN_PAGES]
    assert statistics.mean(rates) < MAX_MEAN_CER
    assert all("\f" not in text and "\r" not in text for text in scan_texts.values())


def test_engine_reports_its_version(engine: TesseractOcr) -> None:
    chosen = get_ocr_engine()
    assert isinstance(chosen, TesseractOcr)
    assert chosen.name == "tesseract"
    assert re.fullmatch(r"\d+\.\d+[\w.\-]*", chosen.version)
    assert chosen.version == engine.version


def _tesseract_children() -> list[int]:
    """Processes started by this test process that are still tesseract (zombies included)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text()
        except OSError:
            continue  # exited while listing
        name = fields[fields.index("(") + 1 : fields.rindex(")")]
        parent = int(fields[fields.rindex(")") + 2 :].split()[1])
        if parent == os.getpid() and name == "tesseract":
            found.append(int(stat.parent.name))
    return found


def test_timeout_kills_tesseract(engine: TesseractOcr) -> None:
    image = SCAN_PAGES[0].read_bytes()
    started = time.perf_counter()
    with pytest.raises(OcrTimeout):
        engine.recognize(image, timeout=0.001)
    assert time.perf_counter() - started < 2.0
    assert _tesseract_children() == []


def test_timeout_through_ocr_pages(engine: TesseractOcr) -> None:
    data = (SCANS / "scanned-opinion.pdf").read_bytes()
    with pytest.raises(OcrTimeout):
        ocr_pages(data, [2], engine, timeout_per_page=0.001)
    assert _tesseract_children() == []


def test_only_png_reaches_tesseract(engine: TesseractOcr) -> None:
    # Non-image stdin is a list of file names to tesseract: it would OCR files on the server.
    with pytest.raises(OcrFailed, match="not a PNG"):
        engine.recognize(b"/etc/hostname\n", timeout=10)
    broken = SCAN_PAGES[0].read_bytes()[:200]
    with pytest.raises(OcrFailed, match="exited"):
        engine.recognize(broken, timeout=10)


def test_scanned_opinion_pdf_end_to_end(
    scanned_opinion: PipelineOutput, engine: TesseractOcr
) -> None:
    output = scanned_opinion
    extracted = output.extracted
    hostile.assert_well_formed(extracted)
    assert len(extracted.pages) == 3
    assert extracted.pages_without_text == []
    assert output.provenance["ocr"] == f"tesseract {engine.version}"
    assert output.provenance["ocr_pages"] == [1, 2, 3]
    assert output.provenance["ocr_failed_pages"] == []
    assert output.timings["ocr"] > 0

    references = (SCANS / "scanned-opinion.txt").read_text().split(PAGE_SEPARATOR)
    for span, reference in zip(extracted.pages, references, strict=True):
        page = extracted.text[span.start : span.end]
        assert letters(page) > 500
        assert cer(reference, page) < MAX_PDF_PAGE_CER
    for phrase in ("factual basis for the plea", "Rule 24.6", "Appellant"):
        assert phrase in extracted.text

    # Everything downstream runs on the OCR text: chunks index it, enrichment reads it.
    assert output.chunks
    for piece in output.chunks:
        assert extracted.text[piece.start : piece.end] == piece.text
        span = extracted.pages[(piece.page or 0) - 1]
        assert span.start <= piece.start < piece.end <= span.end
    cited = {c.normalized for c in output.metadata.citations}
    assert {"276 Ark. 318", "635 S.W.2d 472"} <= cited


SCANNED_FILINGS: dict[str, list[str]] = {
    "image-pdf.pdf": ["SUPREME COURT OF THE UNITED STATES", "TARRANT REGIONAL WATER"],
    "image-pdf-2.pdf": ["Reversed and Remanded", "Docket No. 2017-03-1235"],
    "recap_documents/ca4_17.pdf": ["APPEARANCE OF COUNSEL FORM", "FOURTH CIRCUIT"],
    "recap_extract/gov.uscourts.cand.203070.27.0.pdf": ["IT IS SO STIPULATED"],
}


def _manifest() -> dict[str, dict[str, Any]]:
    files = json.loads((FILINGS / "manifest.json").read_text())["files"]
    return {entry["name"]: entry for entry in files}


def test_scanned_filings_cover_the_manifest() -> None:
    scanned = {name for name, entry in _manifest().items() if entry["kind"] == "scanned-pdf"}
    assert scanned == {*SCANNED_FILINGS, "ocr_pdf_variation.pdf"}


@pytest.mark.parametrize("name", SCANNED_FILINGS)
def test_scanned_filings_recover_text(name: str, engine: TesseractOcr) -> None:
    data = (FILINGS / name).read_bytes()
    before = extract(data, PDF, Limits())
    assert 1 in before.pages_without_text

    output = run_pipeline(data, PDF, Limits())
    extracted = output.extracted
    hostile.assert_well_formed(extracted)
    assert len(extracted.pages) == _manifest()[name]["pages"]
    assert extracted.pages_without_text == []
    assert output.provenance["ocr_pages"] == before.pages_without_text
    first = extracted.text[extracted.pages[0].start : extracted.pages[0].end]
    assert letters(first) > 500
    for phrase in SCANNED_FILINGS[name]:
        assert phrase in extracted.text


def test_page_with_little_on_it_stays_without_text(engine: TesseractOcr) -> None:
    # The image holds the ECF stamp and one word ("UNITED"): OCR reads both, which is more
    # than the stamp-only text layer, but still not a page of text.
    output = run_pipeline((FILINGS / "ocr_pdf_variation.pdf").read_bytes(), PDF, Limits())
    hostile.assert_well_formed(output.extracted)
    assert output.provenance["ocr_pages"] == [1]
    assert output.extracted.pages_without_text == [1]
    assert "UNITED" in output.extracted.text


def test_pages_that_time_out_stay_without_text(
    engine: TesseractOcr, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pipeline, "OCR_TIMEOUT_PER_PAGE", 0.001)
    data = (SCANS / "scanned-opinion.pdf").read_bytes()
    output = run_pipeline(data, PDF, Limits())
    assert output.provenance["ocr"] == f"tesseract {engine.version}"
    assert output.provenance["ocr_pages"] == []
    assert output.provenance["ocr_failed_pages"] == [1, 2, 3]
    assert output.extracted == extract(data, PDF, Limits())
    assert _tesseract_children() == []


def test_without_an_engine_pages_stay_without_text(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no tesseract on it
    monkeypatch.setattr(RapidOcr, "available", classmethod(lambda cls: False))
    assert get_ocr_engine() is None
    output = run_pipeline((SCANS / "scanned-opinion.pdf").read_bytes(), PDF, Limits())
    assert output.extracted.pages_without_text == [1, 2, 3]
    assert output.provenance["ocr"] is None
    assert output.provenance["ocr_pages"] == []


def test_text_documents_are_not_ocred() -> None:
    output = run_pipeline(b"The motion is granted.\n", Detected("text", "text/plain"), Limits())
    assert "ocr" not in output.timings
    assert output.provenance["ocr"] is None


def test_merge_ocr_recomputes_spans() -> None:
    stamp = "Case 1:20-cv-01234-ABC Document 12 Filed 01/02/20 Page 1 of 4"
    body = "The motion to dismiss is GRANTED for the reasons stated on the record."
    data = hostile.text_pdf([[stamp], [body], ["abcdefghi"], []])
    extracted = extract(data, PDF, Limits())
    assert extracted.pages_without_text == [1, 3, 4]

    ocr_text = f"{stamp}\n\nORDER\n\nThe Court has read the papers and rules as follows."
    recognized = {1: ocr_text, 3: "", 4: "- 4 -"}
    merged, replaced = merge_ocr(extracted, recognized, Limits())
    hostile.assert_well_formed(merged)
    # Page 3's OCR read less than its text layer (text under a box, say): the layer stays.
    assert replaced == [1, 4]
    pages = [merged.text[s.start : s.end] for s in merged.pages]
    assert pages[0] == ocr_text
    assert pages[1] == extracted.text[extracted.pages[1].start : extracted.pages[1].end]
    assert pages[2].strip() == "abcdefghi"
    assert pages[3] == "- 4 -"
    assert merged.pages_without_text == [3, 4]
    assert merged.extractor == extracted.extractor


def _png_chunks(png: bytes) -> Iterator[tuple[bytes, bytes]]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    offset = 8
    while offset < len(png):
        (length,) = struct.unpack(">I", png[offset : offset + 4])
        kind, body = png[offset + 4 : offset + 8], png[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack(">I", png[offset + 8 + length : offset + 12 + length])
        assert crc == zlib.crc32(kind + body)
        yield kind, body
        offset += 12 + length


def test_png_encoder_drops_row_padding() -> None:
    width, height, stride = 3, 2, 4
    pixels = bytes([1, 2, 3, 99, 4, 5, 6, 99])
    chunks = dict(_png_chunks(encode_png_grey(pixels, width, height, stride=stride, dpi=300)))
    assert chunks[b"IHDR"] == struct.pack(">IIBBBBB", 3, 2, 8, 0, 0, 0, 0)
    assert chunks[b"pHYs"] == struct.pack(">IIB", 11811, 11811, 1)  # 300 dpi in pixels/metre
    assert zlib.decompress(chunks[b"IDAT"]) == bytes([0, 1, 2, 3, 0, 4, 5, 6])
    assert chunks[b"IEND"] == b""
    with pytest.raises(ValueError, match="does not match"):
        encode_png_grey(pixels[:5], width, height, stride=stride, dpi=300)


def test_huge_pages_render_within_the_pixel_caps() -> None:
    # 200 x 200 inches at 300 dpi would be 3.6 Gpx; 2 x 400 inches would be 120,000 px tall.
    for width_pt, height_pt in ((14_400, 14_400), (144, 28_800)):
        data = hostile.build_pdf(
            [
                b"<< /Type /Catalog /Pages 2 0 R >>",
                b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] >>" % (width_pt, height_pt),
            ]
        )
        chunks = dict(_png_chunks(render_page_png(data, 1, dpi=300, limits=Limits())))
        width, height = struct.unpack(">II", chunks[b"IHDR"][:8])
        assert width * height <= MAX_PAGE_PIXELS
        assert max(width, height) <= MAX_PAGE_SIDE < 32_768  # tesseract's own limit
