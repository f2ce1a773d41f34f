"""An answer made of the sources' own sentences, when no model answers (or by choice).

The sentences of the retrieved passages that share most of the question's content words
(at least half of them), best first, each cited to its source. Every sentence is a
verbatim quote, so the answer is grounded by construction; it is labelled `extractive` so a
reader knows no model wrote it.
"""

from __future__ import annotations

from collections.abc import Sequence

from lexbase.chat.sources import Source, support, terms
from lexbase.chat.verify import AnswerSentence, Citation, VerifiedAnswer

MAX_SENTENCES = 3
MIN_OVERLAP = 0.5


def extractive_answer(question: str, sources: Sequence[Source]) -> VerifiedAnswer:
    asked = terms(question)
    scored = []
    for rank, source in enumerate(sources):
        for sentence in source.sentences:
            score = support(asked, set(sentence.terms))
            if score >= MIN_OVERLAP and len(sentence.text) > 20:
                scored.append((score, -rank, source, sentence))
    # Best supported first; among equals, the passage retrieval ranked higher.
    scored.sort(key=lambda item: (item[0], item[1]), reverse=True)
    chosen = scored[:MAX_SENTENCES]
    result = VerifiedAnswer(content="", sentences=[], citations=[])
    for _, _, source, sentence in chosen:
        text = " ".join(sentence.text.split())
        result.sentences.append(AnswerSentence(text, "supported", (source.marker,)))
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
    result.content = " ".join(f"{s.text} [{s.markers[0]}]" for s in result.sentences)
    return result
