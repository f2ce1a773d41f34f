"""Retrieved passages as an answer uses them: numbered sources whose sentences carry exact
offsets into their document's text, and how well a passage of text supports a statement.

Support is measured on content words: the share of a statement's words (lowercased, light
suffix stripping, stop words and markers left out) that a source sentence contains. It is
deliberately simple and deterministic — a quote is accepted only where the words are really
there, whatever model wrote the statement.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from lexbase.ingest.chunking import sentence_spans

_WORD = re.compile(r"[A-Za-z0-9§$%][A-Za-z0-9§$%.,'-]*[A-Za-z0-9§$%]|[A-Za-z0-9§$%]")
STOP_WORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "been",
        "being",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "for",
        "from",
        "had",
        "has",
        "have",
        "he",
        "her",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "may",
        "might",
        "must",
        "my",
        "no",
        "nor",
        "not",
        "of",
        "on",
        "or",
        "our",
        "shall",
        "she",
        "should",
        "so",
        "such",
        "than",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "to",
        "under",
        "upon",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "according",
        "said",
        "also",
        "each",
        "other",
        "consider",
        "whether",
    ]
)


def terms(text: str) -> set[str]:
    """The content words of `text`, reduced to a common stem."""
    found = set()
    for match in _WORD.finditer(text.lower()):
        word = match.group().strip(".,'-")
        if not word or word in STOP_WORDS or (len(word) < 2 and not word.isdigit()):
            continue
        found.add(_stem(word))
    return found


def _stem(word: str) -> str:
    for suffix in ("ations", "ation", "ings", "ing", "ies", "ied", "es", "ed", "s", "ly", "e"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def support(statement: set[str], passage: set[str]) -> float:
    """The share of the statement's content words the passage contains (0 when it has none)."""
    if not statement:
        return 0.0
    return len(statement & passage) / len(statement)


@dataclass(frozen=True)
class Sentence:
    start: int  # offsets in the document's text
    end: int
    text: str
    terms: frozenset[str]


@dataclass
class Source:
    """A retrieved chunk, numbered as the answer cites it ([marker])."""

    marker: int
    document_id: str
    chunk_id: str
    title: str
    text: str  # exactly the document's text[start:end]
    start: int
    end: int
    page: int | None
    sentences: list[Sentence] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.sentences:
            self.sentences = [
                Sentence(
                    self.start + a,
                    self.start + b,
                    self.text[a:b],
                    frozenset(terms(self.text[a:b])),
                )
                for a, b in sentence_spans(self.text)
            ]

    def quote(self, start: int, end: int) -> str:
        """The document's text between two of its offsets inside this source."""
        return self.text[start - self.start : end - self.start]

    def best_support(self, statement: set[str]) -> tuple[float, Sentence | None, Sentence | None]:
        """The sentence (or two neighbouring sentences) of this source that best support the
        statement: (score, first, last)."""
        best: tuple[float, Sentence | None, Sentence | None] = (0.0, None, None)
        for index, sentence in enumerate(self.sentences):
            score = support(statement, set(sentence.terms))
            if score > best[0]:
                best = (score, sentence, sentence)
            if index + 1 < len(self.sentences):
                following = self.sentences[index + 1]
                pair = support(statement, set(sentence.terms | following.terms))
                if pair > best[0] + 0.15:  # a second sentence must add real support
                    best = (pair, sentence, following)
        return best


def numbered(sources: Sequence[Source]) -> dict[int, Source]:
    return {source.marker: source for source in sources}
