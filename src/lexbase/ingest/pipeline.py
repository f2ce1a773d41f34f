"""The CPU-bound stages, run inside a worker process: extract (+ OCR) → enrich → chunk.

Pure: bytes in, plain data out (picklable), no database and no event loop. Every stage
is timed, and the result names the library and version that produced each part.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from importlib.metadata import version
from typing import Any

import structlog

from lexbase.ingest.chunking import chunk
from lexbase.ingest.enrich import enrich
from lexbase.ingest.errors import CorruptFile
from lexbase.ingest.extract import extract
from lexbase.ingest.extractors.common import check_text_size, join_pages
from lexbase.ingest.extractors.pdf import MIN_PAGE_ALNUM, alnum_outside_stamp
from lexbase.ingest.limits import Limits
from lexbase.ingest.ocr import ocr_pages
from lexbase.ingest.types import PIPELINE_VERSION, Chunk, Detected, Extracted, LegalMetadata
from lexbase.providers.ocr import OcrError, get_ocr_engine

log = structlog.get_logger(__name__)

# Chosen by the retrieval eval (benchmarks/RESULTS.md): ~500-character chunks find the exact
# clause first most often (P@1 33% vs 27% at 800 and 24% at 1,200 on the CUAD dev slice)
# at the same recall within a 16k-character budget.
CHUNK_TARGET_CHARS = 500
CHUNK_MAX_CHARS = 800
CHUNK_MIN_CHARS = 150
# Scans are 300 dpi by convention, and tesseract's models are tuned for text at about that
# resolution; rendering finer costs time without reading better.
OCR_DPI = 300
# A scanned page takes 2-3 s here (2-core shared VM, benchmarks/ocr_benchmark.py); one that
# needs a minute is noise or a pathological image, and the rest of the document should not
# wait on it.
OCR_TIMEOUT_PER_PAGE = 60.0


@dataclass(frozen=True)
class PipelineOutput:
    extracted: Extracted
    metadata: LegalMetadata
    chunks: list[Chunk]
    timings: dict[str, float] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)


def run_pipeline(data: bytes, detected: Detected, limits: Limits) -> PipelineOutput:
    timings: dict[str, float] = {}
    started = time.perf_counter()
    extracted = extract(data, detected, limits)
    timings["extract"] = round(time.perf_counter() - started, 4)

    ocr = _ocr_provenance(None, [], [])
    if detected.kind == "pdf" and extracted.pages_without_text:
        started = time.perf_counter()
        extracted, ocr = _with_ocr(data, extracted, limits)
        timings["ocr"] = round(time.perf_counter() - started, 4)

    started = time.perf_counter()
    metadata = enrich(extracted.text)
    timings["enrich"] = round(time.perf_counter() - started, 4)

    started = time.perf_counter()
    chunks = chunk(
        extracted.text,
        extracted.pages,
        target_chars=CHUNK_TARGET_CHARS,
        max_chars=CHUNK_MAX_CHARS,
        min_chars=CHUNK_MIN_CHARS,
    )
    timings["chunk"] = round(time.perf_counter() - started, 4)
    provenance = {
        "pipeline_version": PIPELINE_VERSION,
        "extractor": extracted.extractor,
        "extractor_version": extracted.extractor_version,
        "enricher": "eyecite",
        "enricher_version": version("eyecite"),
        "chunker": f"structure-v1/{CHUNK_TARGET_CHARS}/{CHUNK_MAX_CHARS}/{CHUNK_MIN_CHARS}",
        **ocr,
    }
    return PipelineOutput(extracted, metadata, chunks, timings, provenance)


def _with_ocr(
    data: bytes, extracted: Extracted, limits: Limits
) -> tuple[Extracted, dict[str, Any]]:
    """OCR the pages without a text layer; returns the new extraction and its provenance."""
    engine = get_ocr_engine()
    if engine is None:
        log.warning("ocr.unavailable", pages=len(extracted.pages_without_text))
        return extracted, _ocr_provenance(None, [], [])
    recognized: dict[int, str] = {}
    failed: list[int] = []
    for page in extracted.pages_without_text:
        try:
            recognized |= ocr_pages(
                data,
                [page],
                engine,
                dpi=OCR_DPI,
                timeout_per_page=OCR_TIMEOUT_PER_PAGE,
                limits=limits,
            )
        except (OcrError, CorruptFile) as exc:
            # One unreadable page must not cost the document its other pages; it stays
            # listed in pages_without_text and the failure is recorded in provenance.
            log.warning("ocr.page_failed", page=page, error=str(exc))
            failed.append(page)
    merged, replaced = merge_ocr(extracted, recognized, limits)
    return merged, _ocr_provenance(f"{engine.name} {engine.version}", replaced, failed)


def _ocr_provenance(engine: str | None, pages: list[int], failed: list[int]) -> dict[str, Any]:
    # The same keys for every document, so provenance can be queried without guessing.
    return {"ocr": engine, "ocr_pages": pages, "ocr_failed_pages": failed}


def merge_ocr(
    extracted: Extracted, recognized: dict[int, str], limits: Limits
) -> tuple[Extracted, list[int]]:
    """Put OCR text in place of the listed pages' text layers and recompute every page span.

    A page keeps its text layer when OCR read fewer letters and digits than it holds: text
    under a black box (a covered-up redaction) is in the layer but not in the image, and a
    blank OCR result must not erase it. Returns the new extraction and the pages replaced.
    """
    texts = [extracted.text[span.start : span.end] for span in extracted.pages]
    replaced: list[int] = []
    for page, text in sorted(recognized.items()):
        if _alnum(text) > _alnum(texts[page - 1]):
            texts[page - 1] = text
            replaced.append(page)
    if not replaced:
        return extracted, []
    joined, spans = join_pages(texts)
    check_text_size(len(joined), limits.max_text_chars)
    still_without = [
        page
        for page in extracted.pages_without_text
        if alnum_outside_stamp(texts[page - 1]) < MIN_PAGE_ALNUM
    ]
    return replace(extracted, text=joined, pages=spans, pages_without_text=still_without), replaced


def _alnum(text: str) -> int:
    return sum(1 for char in text if char.isalnum())
