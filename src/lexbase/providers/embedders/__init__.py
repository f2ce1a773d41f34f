"""Embedding models behind the `Embedder` protocol, and the choice of one by configuration.

Every model here loads from an installed package or a file made from one on this machine;
nothing is fetched from a model hub at run time.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from lexbase.providers.base import Embedder

if TYPE_CHECKING:
    from lexbase.core.config import Settings

EmbedderName = Literal["minilm", "model2vec"]

# The Hugging Face libraries look things up online unless told not to; models here are
# always local, and worker processes have no network anyway.
for _variable in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_HUB_DISABLE_TELEMETRY"):
    os.environ.setdefault(_variable, "1")
os.environ.setdefault("TQDM_DISABLE", "1")  # no progress bars in service logs


@dataclass(frozen=True)
class EmbedderSpec:
    """What a worker process needs to build the same embedder as the API (picklable)."""

    name: EmbedderName
    model_dir: str
    """Where derived models (model2vec's distillation) are kept between runs."""


def embedder_spec(settings: Settings) -> EmbedderSpec:
    return EmbedderSpec(settings.embedder, str(settings.resolved_model_dir.resolve()))


def is_prepared(spec: EmbedderSpec) -> bool:
    """Whether what the model needs is on disk already: then loading it takes about a
    second, where making it (a distillation) takes up to a minute."""
    if spec.name == "model2vec":
        from lexbase.providers.embedders.static import is_distilled

        return is_distilled(Path(spec.model_dir))
    return True


def prepare_embedder(spec: EmbedderSpec) -> None:
    """Make what the model needs on disk. Distillation needs more memory than a worker
    process is allowed, so the parent process calls this before handing work to workers."""
    if spec.name == "model2vec":
        from lexbase.providers.embedders.static import ensure_distilled

        ensure_distilled(Path(spec.model_dir))


def load_embedder(spec: EmbedderSpec) -> Embedder:
    """A newly loaded embedder for `spec` (about a second once the model is made). The caller
    owns it: the API's lifespan through `EmbedderHandle`, a command for its run."""
    if spec.name == "minilm":
        from lexbase.providers.embedders.minilm import MiniLMEmbedder

        return MiniLMEmbedder()
    from lexbase.providers.embedders.static import Model2VecEmbedder

    return Model2VecEmbedder(Path(spec.model_dir))


def get_embedder(spec: EmbedderSpec) -> Embedder:
    """The embedder of a pool worker process (ingestion's embedding stage): loaded by the
    first call, normally the process's initializer (warm-up), and kept for the process's
    life, which is the only lifespan such a process has. The API process never calls this:
    its embedder is loaded and held by the lifespan's `EmbedderHandle`."""
    return _build(spec)


@lru_cache(maxsize=4)
def _build(spec: EmbedderSpec) -> Embedder:
    return load_embedder(spec)


__all__ = [
    "Embedder",
    "EmbedderName",
    "EmbedderSpec",
    "embedder_spec",
    "get_embedder",
    "is_prepared",
    "load_embedder",
    "prepare_embedder",
]
