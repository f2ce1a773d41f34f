"""A follow-up question made standalone for retrieval, without a model.

"And when does it end?" finds nothing on its own words. When a question leans on the turn
before it (it is short and refers back — "it", "that", "the same", "what about …"), the
previous question's content words are carried into the retrieval query, and the documents
the previous answer cited become the first place to look. A question that stands alone is
searched as it is. The model, when one answers, still sees the history itself; this only
decides what is retrieved.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from lexbase.chat.sources import STOP_WORDS

_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*|\d[\d.,]*")
REFERRING = frozenset(
    {
        "it",
        "its",
        "they",
        "them",
        "their",
        "this",
        "that",
        "these",
        "those",
        "he",
        "she",
        "him",
        "his",
        "her",
        "there",
        "same",
        "such",
        "also",
        "else",
        "other",
        "former",
        "latter",
    }
)
LEADS = ("and ", "but ", "also ", "what about", "how about", "and what", "what else", "so ")
SHORT = 8  # content words: a question shorter than this may lean on the one before
CARRIED = 8  # content words carried over at most


class Turn(Protocol):
    role: str
    content: str
    citations: list[dict[str, Any]]


@dataclass(frozen=True)
class Query:
    text: str  # what retrieval searches for
    focus: tuple[str, ...] = ()  # documents to look in first (cited by the previous answer)


def standalone(question: str, history: Sequence[Turn]) -> Query:
    previous = next((t for t in reversed(history) if t.role == "user"), None)
    if previous is None or not is_follow_up(question):
        return Query(question)
    asked = {w.lower() for w in _WORD.findall(question)}
    carried: list[str] = []
    for word in _WORD.findall(previous.content):
        lowered = word.lower()
        if lowered in STOP_WORDS or lowered in REFERRING or lowered in asked:
            continue
        if lowered not in (c.lower() for c in carried):
            carried.append(word)
    answer = next((t for t in reversed(history) if t.role == "assistant"), None)
    focus = tuple(
        dict.fromkeys(c["document_id"] for c in (answer.citations if answer is not None else []))
    )
    text = " ".join([question, *carried[:CARRIED]])
    return Query(text, focus)


def is_follow_up(question: str) -> bool:
    lowered = question.strip().lower()
    words = [w.lower() for w in _WORD.findall(question)]
    content = [w for w in words if w not in STOP_WORDS and w not in REFERRING]
    if lowered.startswith(LEADS):
        return True
    return len(content) < SHORT and any(w in REFERRING for w in words)
