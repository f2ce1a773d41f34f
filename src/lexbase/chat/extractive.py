"""An answer made of the sources' own sentences, when no model answers (or by choice).

Retrieval has already ranked the passages; from each of the best few, the sentence that
shares most of the question's content words is taken — from the first passage (the best
evidence retrieval found) when it shares any, from the next ones only when they share a
fifth of them. A question no passage shares a word with gets no extractive answer. Words
naming the documents themselves (their titles, as in "Consider the Supply Agreement of
Acme; …") say which document is meant, not what is asked, and do not count. Every sentence
is a verbatim quote cited to its source, so the answer is grounded by construction; it is
labelled `extractive` so a reader knows no model wrote it.
"""

from __future__ import annotations

from collections.abc import Sequence

from lexbase.chat.sources import Sentence, Source, support, terms
from lexbase.chat.verify import AnswerSentence, Citation, VerifiedAnswer

MAX_SENTENCES = 5
FROM_FIRST = 2  # sentences of the best passage
MIN_OVERLAP = 0.2  # for the passages after the first
MIN_FIRST = 1e-9
MIN_LENGTH = 20


def extractive_answer(question: str, sources: Sequence[Source]) -> VerifiedAnswer:
    asked = terms(question) - set().union(*(terms(s.title) for s in sources))
    result = VerifiedAnswer(content="", sentences=[], citations=[])
    seen: set[tuple[str, int]] = set()
    for rank, source in enumerate(sources):
        if len(result.sentences) >= MAX_SENTENCES:
            break
        # The first passage needs a word of the question, the others a fifth of them.
        floor = MIN_OVERLAP if rank else MIN_FIRST
        taken = 0
        for score, sentence in _ranked(source, asked):
            if score < floor or taken >= (FROM_FIRST if rank == 0 else 1):
                break
            key = (source.document_id, sentence.start)
            if key in seen:
                continue
            seen.add(key)
            _add(result, source, sentence)
            taken += 1
    result.content = " ".join(f"{s.text} [{s.markers[0]}]" for s in result.sentences)
    return result


def _ranked(source: Source, asked: set[str]) -> list[tuple[float, Sentence]]:
    """The source's sentences, best supported first (earlier first among equals)."""
    candidates = [s for s in source.sentences if len(s.text) >= MIN_LENGTH]
    scored = [(support(asked, set(s.terms)), -index, s) for index, s in enumerate(candidates)]
    scored.sort(key=lambda item: (item[0], item[1]), reverse=True)
    return [(score, sentence) for score, _, sentence in scored]


def _add(result: VerifiedAnswer, source: Source, sentence: Sentence) -> None:
    result.sentences.append(
        AnswerSentence(" ".join(sentence.text.split()), "supported", (source.marker,))
    )
    result.citations.append(
        Citation(
            marker=source.marker,
            document_id=source.document_id,
            chunk_id=source.chunk_id,
            quote=sentence.text,
            page=source.page,
            start=sentence.start,
            end=sentence.end,
        )
    )
    result.sources_used.add(source.marker)
