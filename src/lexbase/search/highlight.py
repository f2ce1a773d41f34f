"""Highlights: the query's words and phrases marked in a chunk's text.

Words match by a light stem (so "terminate" marks "termination" and "terminated"); phrases
match exactly, ignoring case and the spacing between their words. Text outside the marks
is escaped, so a client can render fragments as HTML.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable

MARK_OPEN, MARK_CLOSE = "<mark>", "</mark>"
FRAGMENT_CHARS = 220
MAX_FRAGMENTS = 3
SUFFIXES = (
    "ations",
    "ation",
    "ings",
    "ing",
    "ions",
    "ion",
    "ies",
    "ied",
    "es",
    "ed",
    "ly",
    "s",
    "e",
)


def stem(word: str) -> str:
    for suffix in SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


def _pattern(words: Iterable[str], phrases: Iterable[str]) -> re.Pattern[str] | None:
    alternatives = [
        r"\s+".join(re.escape(w) for w in phrase.split()) for phrase in phrases if phrase
    ]
    for word in words:
        root = stem(word)
        if root.isalnum() and len(root) >= 4:
            alternatives.append(re.escape(root) + r"\w*")
        else:
            alternatives.append(re.escape(word))
    if not alternatives:
        return None
    alternatives.sort(key=len, reverse=True)
    return re.compile(r"(?<![\w§])(?:" + "|".join(alternatives) + r")(?!\w)", re.IGNORECASE)


def highlight(text: str, words: Iterable[str], phrases: Iterable[str]) -> list[str]:
    """Up to three fragments of `text` around matches, matches wrapped in <mark>."""
    pattern = _pattern(words, phrases)
    if pattern is None:
        return []
    matches = list(pattern.finditer(text))
    fragments: list[str] = []
    covered_until = -1
    for match in matches:
        if match.start() < covered_until:
            continue
        start = max(0, match.start() - FRAGMENT_CHARS // 3)
        end = min(len(text), start + FRAGMENT_CHARS)
        start, end = _widen_to_words(text, start, end)
        fragments.append(_mark(text, start, end, pattern))
        covered_until = end
        if len(fragments) == MAX_FRAGMENTS:
            break
    return fragments


def _widen_to_words(text: str, start: int, end: int) -> tuple[int, int]:
    while start > 0 and not text[start - 1].isspace() and start > end - FRAGMENT_CHARS - 20:
        start -= 1
    while end < len(text) and not text[end].isspace() and end < start + FRAGMENT_CHARS + 20:
        end += 1
    return start, end


def _mark(text: str, start: int, end: int, pattern: re.Pattern[str]) -> str:
    piece = text[start:end]
    out: list[str] = []
    position = 0
    for match in pattern.finditer(piece):
        out.append(html.escape(piece[position : match.start()], quote=False))
        out.append(MARK_OPEN + html.escape(match.group(0), quote=False) + MARK_CLOSE)
        position = match.end()
    out.append(html.escape(piece[position:], quote=False))
    fragment = " ".join("".join(out).split())
    prefix = "…" if start > 0 else ""
    suffix = "…" if end < len(text) else ""
    return f"{prefix}{fragment}{suffix}"
