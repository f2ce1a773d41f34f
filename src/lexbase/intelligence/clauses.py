"""Contract clauses found sentence by sentence by small trained classifiers.

For each of the clause categories CUAD labels (governing law, cap on liability,
anti-assignment, …) a logistic regression over the sentence's TF-IDF word and word-pair
features gives the probability that the sentence belongs to a clause of that category. A
category is present when its best sentence reaches the category's threshold (chosen in
training on contracts set aside for it, `PRESENT_AT` when none was); its sources are the
sentences that do, best first, each located by its offsets in the document's text.

The model is a file (`data/clauses.npz`: vocabulary, inverse document frequencies,
coefficients, intercepts, categories and how it was trained), built by
`lexbase train-clauses` from the CUAD labels under `../shared/eval/legalbench-cuad` (CC BY
4.0) with the contracts of the evaluation split held out, and loaded once by whoever owns it
(the app's lifespan, a command). Pure computation: no database, no app.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.feature_extraction.text import TfidfVectorizer

from lexbase.ingest.chunking import sentence_spans

BUNDLED = Path(__file__).with_name("data") / "clauses.npz"
PRESENT_AT = 0.5  # the threshold of a category the model file gives none for
MAX_SOURCES = 5  # sentences cited for one category
MIN_SENTENCE = 12  # characters; shorter pieces (list numbers, stray headings) are not scored
NGRAMS = (1, 2)


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    probability: float


@dataclass(frozen=True)
class ClauseFinding:
    category: str
    present: bool
    confidence: float  # the best sentence's probability
    spans: tuple[Span, ...]  # best first; only sentences reaching the category's threshold


def vectorizer(vocabulary: list[str] | None = None) -> TfidfVectorizer:
    """The features both training and prediction use (a fixed vocabulary when given)."""
    return TfidfVectorizer(
        ngram_range=NGRAMS, sublinear_tf=True, dtype=np.float32, vocabulary=vocabulary
    )


def segments(text: str) -> list[tuple[int, int]]:
    """The sentences a document is scored by: (start, end) offsets into its text."""
    return [(a, b) for a, b in sentence_spans(text) if b - a >= MIN_SENTENCE]


class ClauseModel:
    """Per-category sentence classifiers, loaded from a model file."""

    def __init__(
        self,
        categories: list[str],
        vocabulary: list[str],
        idf: NDArray[np.float32],
        coef: NDArray[np.float32],
        intercept: NDArray[np.float32],
        meta: dict[str, Any],
        thresholds: NDArray[np.float32] | None = None,
    ) -> None:
        if coef.shape != (len(categories), len(vocabulary)) or idf.shape != (len(vocabulary),):
            raise ValueError("clause model: shapes do not agree")
        self.categories = categories
        self.coef = coef
        self.intercept = intercept
        self.thresholds = (
            thresholds
            if thresholds is not None
            else np.full(len(categories), PRESENT_AT, dtype=np.float32)
        )
        self.meta = meta
        self._vectorizer = vectorizer(vocabulary)
        self._vectorizer.idf_ = idf

    @classmethod
    def load(cls, path: Path = BUNDLED) -> ClauseModel:
        with np.load(path, allow_pickle=False) as data:
            return cls(
                [str(c) for c in data["categories"]],
                [str(v) for v in data["vocabulary"]],
                data["idf"].astype(np.float32),
                data["coef"].astype(np.float32),
                data["intercept"].astype(np.float32),
                json.loads(str(data["meta"])),
                data["thresholds"].astype(np.float32) if "thresholds" in data else None,
            )

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        vocabulary = self._vectorizer.vocabulary
        assert isinstance(vocabulary, list)
        with path.open("wb") as out:
            np.savez_compressed(
                out,
                categories=np.array(self.categories),
                vocabulary=np.array(vocabulary),
                idf=self._vectorizer.idf_.astype(np.float32),
                coef=self.coef.astype(np.float16),
                intercept=self.intercept.astype(np.float32),
                thresholds=self.thresholds.astype(np.float32),
                meta=np.array(json.dumps(self.meta, sort_keys=True)),
            )

    def probabilities(self, sentences: list[str]) -> NDArray[np.float32]:
        """One row per sentence, one column per category."""
        if not sentences:
            return np.zeros((0, len(self.categories)), dtype=np.float32)
        features = self._vectorizer.transform(sentences)
        logits = features @ self.coef.T + self.intercept
        return np.asarray(1.0 / (1.0 + np.exp(-logits)), dtype=np.float32)

    def scored(self, text: str) -> tuple[list[tuple[int, int]], NDArray[np.float32]]:
        """The document's sentences and their probabilities per category."""
        spans = segments(text)
        return spans, self.probabilities([text[a:b] for a, b in spans])

    def find(self, text: str, categories: list[str] | None = None) -> list[ClauseFinding]:
        """Every category (or those asked), present or absent, with its located sentences."""
        spans, probabilities = self.scored(text)
        return self.findings(spans, probabilities, categories)

    def findings(
        self,
        spans: list[tuple[int, int]],
        probabilities: NDArray[np.float32],
        categories: list[str] | None = None,
    ) -> list[ClauseFinding]:
        found = []
        for index, category in enumerate(self.categories):
            if categories is not None and category not in categories:
                continue
            column = probabilities[:, index]
            threshold = float(self.thresholds[index])
            order = np.argsort(-column, kind="stable")
            best = float(column[order[0]]) if len(order) else 0.0
            chosen = [i for i in order[:MAX_SOURCES] if column[i] >= threshold]
            found.append(
                ClauseFinding(
                    category,
                    best >= threshold,
                    round(best, 4),
                    tuple(Span(spans[i][0], spans[i][1], float(column[i])) for i in chosen),
                )
            )
        return found
