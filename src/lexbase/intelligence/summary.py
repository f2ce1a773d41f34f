"""Extractive summaries: the document's most central sentences by LexRank.

Sentences are TF-IDF vectors (fitted on the document's own sentences, English stop words
left out); two sentences are linked when their cosine similarity reaches `LINK_AT`, weighted
by it; networkx's PageRank over that graph scores each sentence by how much of the rest of
the document it stands for (Erkan and Radev's continuous LexRank). The best are taken in
score order, skipping any too similar to one already taken (contracts repeat their
boilerplate: "X has the meaning set forth in …"), and returned in reading order, each with
its offsets — every key point is a verbatim quote. Definitions ("X" means …) say what words
stand for, not what the document does, and are left out. Pure: no database, no app.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import networkx as nx
import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from lexbase.intelligence.clauses import segments

LENGTHS = {"short": 3, "medium": 6, "long": 10}
LINK_AT = 0.1
REDUNDANT_AT = 0.3  # cosine to a sentence already taken
MIN_CHARS, MAX_CHARS = 40, 800  # headings and fragments, run-on pages: not summary sentences
MAX_SENTENCES = 2_000  # the first ones of a very long document
DEFINITION = re.compile(
    r"""^\W{0,3}["“][^"”]{1,100}["”]\s*(?:\([^)]{0,60}\)\s*)?"""
    r"(?:means|shall\s+mean|has\s+the\s+meaning|shall\s+have\s+the\s+meaning|includes)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class KeyPoint:
    start: int
    end: int
    score: float


def summarize(text: str, count: int) -> list[KeyPoint]:
    """The `count` most central sentences, in reading order."""
    spans = [(a, b) for a, b in segments(text) if MIN_CHARS <= b - a <= MAX_CHARS]
    spans = [
        (a, b) for a, b in spans if not text[a:b].isupper() and not DEFINITION.match(text[a:b])
    ][:MAX_SENTENCES]
    if len(spans) <= count:
        return [KeyPoint(a, b, 1.0) for a, b in spans]
    sentences = [text[a:b] for a, b in spans]
    try:
        vectors = TfidfVectorizer(stop_words="english", sublinear_tf=True).fit_transform(sentences)
    except ValueError:  # nothing but stop words
        return [KeyPoint(a, b, 1.0) for a, b in spans[:count]]
    similarity = (vectors @ vectors.T).tocoo()
    graph = nx.Graph()
    graph.add_nodes_from(range(len(spans)))
    graph.add_weighted_edges_from(
        (int(i), int(j), float(w))
        for i, j, w in zip(similarity.row, similarity.col, similarity.data, strict=True)
        if i < j and w >= LINK_AT
    )
    scores = nx.pagerank(graph, weight="weight")
    dense = vectors.tocsr()
    taken: list[int] = []
    for index in np.argsort([-scores[i] for i in range(len(spans))], kind="stable"):
        candidate = int(index)
        if taken and (dense[taken] @ dense[candidate].T).max() >= REDUNDANT_AT:
            continue
        taken.append(candidate)
        if len(taken) == count:
            break
    return [KeyPoint(*spans[i], float(scores[i])) for i in sorted(taken)]
