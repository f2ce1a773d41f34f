"""The CPU-bound stages, run inside a worker process: extract → enrich → chunk.

Pure: bytes in, plain data out (picklable), no database and no event loop. Every stage
is timed, and the result names the library and version that produced each part.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from importlib.metadata import version
from typing import Any

from lexbase.ingest.chunking import chunk
from lexbase.ingest.enrich import enrich
from lexbase.ingest.extract import extract
from lexbase.ingest.limits import Limits
from lexbase.ingest.types import PIPELINE_VERSION, Chunk, Detected, Extracted, LegalMetadata

CHUNK_TARGET_CHARS = 1200
CHUNK_MAX_CHARS = 2000


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

    started = time.perf_counter()
    metadata = enrich(extracted.text)
    timings["enrich"] = round(time.perf_counter() - started, 4)

    started = time.perf_counter()
    chunks = chunk(
        extracted.text,
        extracted.pages,
        target_chars=CHUNK_TARGET_CHARS,
        max_chars=CHUNK_MAX_CHARS,
    )
    timings["chunk"] = round(time.perf_counter() - started, 4)
    provenance = {
        "pipeline_version": PIPELINE_VERSION,
        "extractor": extracted.extractor,
        "extractor_version": extracted.extractor_version,
        "enricher": "eyecite",
        "enricher_version": version("eyecite"),
        "chunker": f"structure-v1/{CHUNK_TARGET_CHARS}/{CHUNK_MAX_CHARS}",
        "ocr": None,
        "embedder": None,
    }
    return PipelineOutput(extracted, metadata, chunks, timings, provenance)
