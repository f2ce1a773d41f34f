"""The embedding stage: what text of a chunk is embedded, and the call a worker process runs.

A chunk is embedded with its document's title and its section heading in front: a clause
reading "The term shall be five years" is about *this* agreement, and the vector should
say so (measured by the retrieval eval, benchmarks/RESULTS.md).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from lexbase.ingest.limits import Limits
from lexbase.ingest.types import Detected
from lexbase.providers.embedders import EmbedderSpec, get_embedder

if TYPE_CHECKING:
    from lexbase.ingest.pipeline import PipelineOutput


@dataclass(frozen=True)
class Embedded:
    vectors: NDArray[np.float32]
    model: str
    version: str
    seconds: float


def passage_text(title: str, section: str | None, text: str) -> str:
    heading = f"{title} — {section}" if section else title
    return f"{heading}\n{text}"


def warm_worker(spec: EmbedderSpec) -> None:
    """Runs in a worker process at service start: the stage libraries imported and the
    embedder loaded before the first document arrives."""
    import lexbase.ingest.pipeline  # noqa: F401

    get_embedder(spec).embed_passages(["warm-up"])


def embed_passages(spec: EmbedderSpec, texts: Sequence[str]) -> Embedded:
    """Runs in a worker process: the model is loaded once per process and kept."""
    embedder = get_embedder(spec)
    started = time.perf_counter()
    vectors = embedder.embed_passages(texts)
    return Embedded(vectors, embedder.name, embedder.version, time.perf_counter() - started)


def process_document(
    data: bytes, detected: Detected, limits: Limits, spec: EmbedderSpec, title: str
) -> tuple[PipelineOutput, Embedded]:
    """Runs in a worker process: the whole pipeline, then the chunks' vectors, in one call —
    the chunks are embedded where they were made instead of travelling to the service's
    process and back."""
    from lexbase.ingest.pipeline import run_pipeline

    output = run_pipeline(data, detected, limits)
    texts = [passage_text(title, c.section, c.text) for c in output.chunks]
    return output, embed_passages(spec, texts)
