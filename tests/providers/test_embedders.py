"""The local embedding models: shape, normalization, and that they carry meaning."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from lexbase.providers.base import Embedder
from lexbase.providers.embedders import EmbedderName, EmbedderSpec, load_embedder

GOVERNING_LAW = "This Agreement shall be governed by the laws of the State of New York."
PASSAGES = [
    GOVERNING_LAW,
    "The Distributor shall maintain insurance coverage of at least $1,000,000 per occurrence.",
    "Either party may terminate this Agreement upon sixty days written notice.",
]


def spec(name: EmbedderName) -> EmbedderSpec:
    return EmbedderSpec(name, os.environ["LEXBASE_MODEL_DIR"])


@pytest.fixture(scope="module")
def embedders() -> dict[EmbedderName, Embedder]:
    """Each model loaded once for this module, as a server's lifespan keeps its own."""
    names: tuple[EmbedderName, ...] = ("model2vec", "minilm")
    return {name: load_embedder(spec(name)) for name in names}


@pytest.mark.parametrize(("name", "dimensions"), [("model2vec", 256), ("minilm", 384)])
def test_vectors_are_unit_length_rows(
    embedders: dict[EmbedderName, Embedder], name: EmbedderName, dimensions: int
) -> None:
    embedder = embedders[name]
    vectors = embedder.embed_passages(PASSAGES)
    assert vectors.shape == (3, dimensions) == (3, embedder.dimensions)
    assert vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert embedder.embed_passages([]).shape == (0, dimensions)
    # A query is embedded like a passage: the same text gives the same vector.
    assert np.allclose(embedder.embed_query(GOVERNING_LAW), vectors[0], atol=1e-5)


@pytest.mark.parametrize("name", ["model2vec", "minilm"])
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("which state's law governs the contract", 0),
        ("minimum insurance the distributor must carry", 1),
        ("how can the agreement be ended early", 2),
    ],
)
def test_the_nearest_passage_answers_the_question(
    embedders: dict[EmbedderName, Embedder], name: EmbedderName, query: str, expected: int
) -> None:
    embedder = embedders[name]
    scores = embedder.embed_passages(PASSAGES) @ embedder.embed_query(query)
    assert int(np.argmax(scores)) == expected, scores


def test_each_load_is_the_callers_own_and_embeds_alike(
    embedders: dict[EmbedderName, Embedder],
) -> None:
    # Nothing is shared behind the caller's back: a second load is a second model...
    again = load_embedder(spec("model2vec"))
    assert again is not embedders["model2vec"]
    # ...that gives the same vectors.
    assert np.allclose(
        again.embed_passages(PASSAGES), embedders["model2vec"].embed_passages(PASSAGES), atol=1e-6
    )


def test_distillation_happens_once_and_is_reused() -> None:
    from lexbase.providers.embedders.static import DISTILLED_NAME, ensure_distilled

    shared = Path(os.environ["LEXBASE_MODEL_DIR"])
    # A model directory that already holds the distilled model is used as is.
    assert ensure_distilled(shared) == shared / DISTILLED_NAME
    stamp = (shared / DISTILLED_NAME / "config.json").stat().st_mtime_ns
    assert ensure_distilled(shared) == shared / DISTILLED_NAME
    assert (shared / DISTILLED_NAME / "config.json").stat().st_mtime_ns == stamp
