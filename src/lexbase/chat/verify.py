"""Checking an answer against its sources: the system, not the model, decides what is cited.

Each sentence of the answer is taken in turn:
- a `[n]` that names no packed source is dropped from the text, and counted;
- for each marker that names a source, the quote is the sentence (or two neighbouring
  sentences) of that source that best support the answer's sentence — an exact substring of
  the document's text with its offsets and page — if they support it well enough
  (`MIN_SUPPORT` of its content words); a marker whose source does not support the sentence
  is dropped and counted too;
- a sentence left without a verified marker is attributed to the source that supports it
  best, if one does (the marker is added), or marked `unsupported`.
The answer is `grounded` when every sentence is supported.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from lexbase.chat.sources import Sentence, Source, numbered, terms
from lexbase.ingest.chunking import sentence_spans

MIN_SUPPORT = 0.6
_MARKER = re.compile(r"\s*\[(\d{1,3})\]")
_MARKER_ANYWHERE = re.compile(r"\[(\d{1,3})\]")

Status = Literal["supported", "unsupported"]


@dataclass(frozen=True)
class Citation:
    marker: int
    document_id: str
    chunk_id: str
    quote: str
    page: int | None
    start: int
    end: int


@dataclass(frozen=True)
class AnswerSentence:
    text: str
    status: Status
    markers: tuple[int, ...]


@dataclass
class VerifiedAnswer:
    content: str
    sentences: list[AnswerSentence]
    citations: list[Citation]
    dropped_markers: int = 0
    attributed: int = 0  # sentences the system tied to a source the model had not named
    sources_used: set[int] = field(default_factory=set)

    @property
    def grounded(self) -> bool:
        return bool(self.sentences) and all(s.status == "supported" for s in self.sentences)


def verify(answer: str, sources: Sequence[Source]) -> VerifiedAnswer:
    by_marker = numbered(sources)
    result = VerifiedAnswer(content="", sentences=[], citations=[])
    quoted: dict[tuple[int, int, int], int] = {}  # (marker, start, end) → index in citations
    rendered: list[str] = []
    for start, end in sentence_spans(answer):
        raw = answer[start:end]
        named = [int(n) for n in _MARKER_ANYWHERE.findall(raw)]
        text = _MARKER.sub("", raw).strip()
        if not text:
            result.dropped_markers += len(named)
            continue
        statement = terms(text)
        markers: list[int] = []
        for marker in dict.fromkeys(named):
            source = by_marker.get(marker)
            span = _supporting(source, statement) if source else None
            if source is None or span is None:
                result.dropped_markers += 1
                continue
            markers.append(marker)
            _cite(result, quoted, source, span)
        if not markers:
            attribution = _attribute(sources, statement)
            if attribution is not None:
                source, span = attribution
                markers.append(source.marker)
                _cite(result, quoted, source, span)
                result.attributed += 1
        status: Status = "supported" if markers else "unsupported"
        result.sentences.append(AnswerSentence(text, status, tuple(markers)))
        rendered.append(text + "".join(f" [{m}]" for m in markers))
    result.content = " ".join(rendered)
    return result


def _supporting(source: Source, statement: set[str]) -> tuple[Sentence, Sentence] | None:
    score, first, last = source.best_support(statement)
    if first is None or last is None or score < MIN_SUPPORT:
        return None
    return first, last


def _attribute(
    sources: Sequence[Source], statement: set[str]
) -> tuple[Source, tuple[Sentence, Sentence]] | None:
    best: tuple[float, Source, tuple[Sentence, Sentence]] | None = None
    for source in sources:
        score, first, last = source.best_support(statement)
        if first is None or last is None or score < MIN_SUPPORT:
            continue
        if best is None or score > best[0]:
            best = (score, source, (first, last))
    return None if best is None else (best[1], best[2])


def _cite(
    result: VerifiedAnswer,
    quoted: dict[tuple[int, int, int], int],
    source: Source,
    span: tuple[Sentence, Sentence],
) -> None:
    start, end = span[0].start, span[1].end
    key = (source.marker, start, end)
    if key in quoted:
        return
    quoted[key] = len(result.citations)
    result.sources_used.add(source.marker)
    result.citations.append(
        Citation(
            marker=source.marker,
            document_id=source.document_id,
            chunk_id=source.chunk_id,
            quote=source.quote(start, end),
            page=source.page,
            start=start,
            end=end,
        )
    )
