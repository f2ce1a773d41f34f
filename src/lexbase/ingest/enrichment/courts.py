"""The court a document comes from, read from its caption and identified with courts-db."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import courts_db

from lexbase.ingest.enrichment.text import CaptionLine

MAX_LOOKUPS = 6  # courts-db tries ~8,400 patterns per lookup (~10 ms); captions need few

_COURT_WORD = re.compile(r"\bcourt\b", re.IGNORECASE)
# Lines that name another court: the one appealed from, or the one a writ (of certiorari, of
# error: "Error to Union Circuit Court.") goes to.
_OTHER_COURT = re.compile(
    r"^(?:on\s+)?(?:appeal|appealed|certiorari|petition|review|writ|error|transferred|removed"
    r"|from|to)\b"
    r"|\b(?:appeal|appealed|certiorari)\s+(?:from|to)\b",
    re.IGNORECASE,
)
_LEADING = re.compile(r"^(?:in|before)\s+the\s+", re.IGNORECASE)
# A court's name often continues on the next caption line: "UNITED STATES COURT OF APPEALS /
# FOR THE NINTH CIRCUIT", "UNITED STATES DISTRICT COURT / CENTRAL DISTRICT OF CALIFORNIA".
_CONTINUATION = re.compile(
    r"^(?:for|of|in\s+and\s+for)\s+the\b"
    r"|^(?:(?:northern|southern|eastern|western|middle|central)\s+)?district\b"
    r"|^(?:\w+\s+){0,2}(?:circuit|division|county|district|judicial\s+district)\b",
    re.IGNORECASE,
)
_MINOR_WORDS = frozenset({"of", "for", "the", "and", "in", "at", "on", "de", "la"})
_MAX_CAPTION_LINE = 120


@dataclass(frozen=True, slots=True)
class Court:
    id: str  # courts-db id, e.g. "ark", "ca9"
    name: str  # courts-db's name for it
    jurisdiction: str  # a state's name, or "United States" for federal courts


def detect_courts(lines: list[CaptionLine]) -> list[Court]:
    """Courts named as the document's own court in its caption, first one first."""
    courts: list[Court] = []
    lookups = 0
    for index, line in enumerate(lines):
        if lookups >= MAX_LOOKUPS:
            break
        # Only the left column: a caption's right column names the court appealed from
        # ("SMITH, ] Appeal from the United / ... ] States District Court for").
        following = lines[index + 1].left if index + 1 < len(lines) else ""
        phrase = _court_phrase(line.left, following)
        if phrase is None:
            continue
        lookups += 1
        court_id = _court_id(phrase)
        if court_id is not None and all(court.id != court_id for court in courts):
            courts.append(_court(court_id))
    return courts


def _court_phrase(line: str, following: str) -> str | None:
    if not _COURT_WORD.search(line) or not _is_caption_text(line) or _OTHER_COURT.search(line):
        return None
    phrase = _LEADING.sub("", line).strip(" .,:;")
    if _CONTINUATION.match(following) and _is_caption_text(following):
        phrase = f"{phrase} {following.strip(' .,:;')}"
    return phrase


def _is_caption_text(line: str) -> bool:
    """Captions are short and title- or upper-case; sentences that mention a court are not."""
    if len(line) > _MAX_CAPTION_LINE:
        return False
    words = [word for word in line.split() if word.lower() not in _MINOR_WORDS]
    capitalised = sum(1 for word in words if not word[0].isalpha() or word[0].isupper())
    return bool(words) and capitalised >= 0.8 * len(words)


@lru_cache(maxsize=4096)
def _court_id(phrase: str) -> str | None:
    """courts-db's id for a caption's court name, or None unless exactly one court matches.

    Memoised because the same few captions ("SUPREME COURT OF ARKANSAS") recur across a
    collection and each uncached lookup costs ~10 ms.
    """
    bankruptcy = "bankrupt" in phrase.lower()
    ids: list[str] = courts_db.find_court(phrase, bankruptcy=bankruptcy)
    if not ids:
        # A caption line can carry more than the name ("... EASTERN DISTRICT OF ARKANSAS
        # WESTERN DIVISION"); courts-db then matches only part of it.
        ids = courts_db.find_court(phrase, bankruptcy=bankruptcy, allow_partial_matches=True)
    return ids[0] if len(set(ids)) == 1 else None


def _court(court_id: str) -> Court:
    record: dict[str, Any] = courts_db.court_dict[court_id]
    return Court(court_id, str(record["name"]), _jurisdiction(record))


def _jurisdiction(record: dict[str, Any]) -> str:
    if record.get("system") == "federal":
        return "United States"
    location = str(record.get("location") or "")
    # courts-db spells the capital three ways ("Washington D.C.", "Washignton D.C.", "DC").
    if location.replace(".", "").replace(" ", "").lower() in {"washingtondc", "washigntondc", "dc"}:
        return "District of Columbia"
    return location
