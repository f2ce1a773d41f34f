"""Analyses of a document's text, each finding with its source: pure functions over the text,
its stored legal metadata and the clause model — no database, no app.

A source is `(start, end)` into the document's text; a value the text does not show is
`None` with a reason, never guessed. What these rules cannot read (a case's holding, its
judges) is left `None` with the reason, for a language model to fill in later.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from lexbase.ingest.enrichment.dates import DATE, iso_date
from lexbase.intelligence.clauses import ClauseFinding, ClauseModel

HEAD = 5_000  # preambles and captions
TAIL = 4_000  # dispositions
MAX_DATES = 20

Span = tuple[int, int]


@dataclass
class Value:
    value: Any
    sources: list[Span] = field(default_factory=list)
    reason: str | None = None


@dataclass
class Party:
    name: str
    role: str | None
    sources: list[Span]


@dataclass
class KeyDate:
    kind: str
    date: str
    sources: list[Span]


@dataclass
class Risk:
    text: str
    severity: str
    sources: list[Span]


@dataclass
class Analysis:
    analysis_type: str
    parties: list[Party] = field(default_factory=list)
    key_dates: list[KeyDate] = field(default_factory=list)
    clauses: list[ClauseFinding] = field(default_factory=list)
    fields: dict[str, Value] = field(default_factory=dict)
    risks: list[Risk] = field(default_factory=list)


def locate(text: str, phrase: str, start: int = 0, end: int | None = None) -> Span | None:
    """The first place `phrase` is written in text[start:end], whatever its case and the
    whitespace between its words."""
    words = phrase.split()
    if not words:
        return None
    pattern = re.compile(r"\s+".join(re.escape(w) for w in words), re.IGNORECASE)
    found = pattern.search(text, start, len(text) if end is None else end)
    return (found.start(), found.end()) if found else None


# --- contracts ---------------------------------------------------------------------------

_BETWEEN = re.compile(
    r"\bby\s+and\s+between\s+(?P<a>[^,;()\n]{3,120}?)\s*(?:[,(]|\s+and\s)"
    r"[\s\S]{0,400}?\band\s+(?P<b>[A-Z][^,;()\n]{2,120}?)\s*[,(]",
)
_DATE_KINDS = (
    ("effective_date", re.compile(r"\beffective\b", re.IGNORECASE)),
    ("expiration_date", re.compile(r"\b(?:expir\w*|terminat\w*|until|end\w*)\b", re.IGNORECASE)),
    ("agreement_date", re.compile(r"\b(?:dated|made|entered\s+into|as\s+of)\b", re.IGNORECASE)),
)
_JURISDICTION = re.compile(
    r"\blaws?\s+of\s+(?:the\s+)?(?:(?:State|Commonwealth|Province|Republic)\s+of\s+)?"
    r"(?P<place>[A-Z][A-Za-z.]*(?:\s+(?:of\s+)?[A-Z][A-Za-z.]*){0,4})"
)
# Clause categories whose presence a reviewer weighs as a risk, with its severity.
RISKY = {
    "Uncapped Liability": ("Liability is not capped", "high"),
    "Non-Compete": ("A party is restricted from competing", "medium"),
    "Exclusivity": ("An exclusivity commitment binds a party", "medium"),
    "Change Of Control": ("A change of control has consequences under the contract", "medium"),
    "Termination For Convenience": ("A party may terminate for convenience", "medium"),
    "Most Favored Nation": ("Most-favoured-nation pricing or terms apply", "medium"),
    "Covenant Not To Sue": ("A party gives up the right to sue", "medium"),
    "Minimum Commitment": ("A minimum purchase or volume is committed", "medium"),
    "Irrevocable Or Perpetual License": ("A licence is irrevocable or perpetual", "low"),
}


def analyze_contract(text: str, metadata: dict[str, Any], model: ClauseModel) -> Analysis:
    analysis = Analysis("contract", clauses=model.find(text))
    analysis.parties = _contract_parties(text, metadata)
    analysis.key_dates = _dates_in_context(text)
    by_category = {c.category: c for c in analysis.clauses}
    analysis.fields["governing_law"] = _governing_law(text, by_category.get("Governing Law"))
    for category, (message, severity) in RISKY.items():
        finding = by_category.get(category)
        if finding is not None and finding.present:
            spans = [(s.start, s.end) for s in finding.spans]
            analysis.risks.append(Risk(message, severity, spans))
    return analysis


def _contract_parties(text: str, metadata: dict[str, Any]) -> list[Party]:
    found = _BETWEEN.search(text, 0, min(len(text), HEAD))
    if found is not None:
        parties = []
        for group in ("a", "b"):
            name, at = found.group(group).strip(), found.start(group)
            parties.append(Party(" ".join(name.split()), None, [(at, at + len(name))]))
        return parties
    return _metadata_parties(text, metadata)


def _metadata_parties(text: str, metadata: dict[str, Any]) -> list[Party]:
    parties = []
    for name in metadata.get("parties") or []:
        span = locate(text, str(name), 0, min(len(text), HEAD))
        parties.append(Party(str(name), None, [span] if span else []))
    return parties


def _dates_in_context(text: str) -> list[KeyDate]:
    dates: list[KeyDate] = []
    for match in DATE.finditer(text):
        value = iso_date(match)
        if value is None:
            continue
        before = text[max(0, match.start() - 80) : match.start()]
        kind = next((k for k, pattern in _DATE_KINDS if pattern.search(before)), "mentioned")
        dates.append(KeyDate(kind, value, [(match.start(), match.end())]))
        if len(dates) >= MAX_DATES:
            break
    return dates


def _governing_law(text: str, clause: ClauseFinding | None) -> Value:
    if clause is None or not clause.present:
        return Value(None, reason="no governing-law clause was found")
    for span in clause.spans:
        found = _JURISDICTION.search(text, span.start, span.end)
        if found is not None:
            place = found.group("place").rstrip(".")
            return Value(place, [(found.start("place"), found.start("place") + len(place))])
    first = [(s.start, s.end) for s in clause.spans[:1]]
    return Value(None, first, "the clause names no jurisdiction")


def analyze_general(text: str, metadata: dict[str, Any]) -> Analysis:
    """Any document: the parties its caption names and the dates it mentions, in context."""
    return Analysis(
        "general", parties=_metadata_parties(text, metadata), key_dates=_dates_in_context(text)
    )


# --- court decisions ---------------------------------------------------------------------

# The court's disposition, as the closing of a decision states it ("Affirmed.",
# "REVERSED AND REMANDED", "Affirmed in part and reversed in part"): the last such phrase.
_OUTCOME = r"(?:affirmed|reversed|vacated|remanded|dismissed|denied|granted|modified)"
_DISPOSITION = re.compile(
    rf"\b{_OUTCOME}(?:(?:\s+in\s+part)?(?:,?\s+and|,)?\s+{_OUTCOME})*(?:\s+in\s+part)?\b",
    re.IGNORECASE,
)
NEEDS_MODEL = "not read by the rules; needs a language model"


def analyze_case(text: str, metadata: dict[str, Any], citations: Sequence[Any]) -> Analysis:
    analysis = Analysis("case")
    head_end = min(len(text), HEAD)
    analysis.parties = _metadata_parties(text, metadata)
    names = metadata.get("court_names") or []
    court = Value(None, reason="no court is named in the caption")
    if names:
        span = locate(text, names[0], 0, head_end) or _court_line(
            text, head_end, metadata.get("jurisdiction")
        )
        court = Value(
            {"name": names[0], "id": (metadata.get("courts") or [None])[0]},
            [span] if span else [],
            None if span else "recognized from the caption; its full name is not written there",
        )
    analysis.fields["court"] = court
    analysis.fields["jurisdiction"] = Value(
        metadata.get("jurisdiction"),
        court.sources,
        None if metadata.get("jurisdiction") else "no court, so no jurisdiction",
    )
    docket = metadata.get("case_number")
    docket_span = locate(text, docket, 0, head_end) if docket else None
    analysis.fields["docket_number"] = (
        Value(docket, [docket_span] if docket_span else [])
        if docket
        else Value(None, reason="no docket number in the caption")
    )
    dates = metadata.get("dates") or {}
    for kind in ("decision_date", "filing_date"):
        value = dates.get(kind.removesuffix("_date")) if isinstance(dates, dict) else None
        span = _date_span(text, value) if value else None
        analysis.fields[kind] = (
            Value(value, [span] if span else [])
            if value
            else Value(None, reason=f"no {kind.replace('_', ' ')} in the opening pages")
        )
        if value and span:
            analysis.key_dates.append(KeyDate(kind.removesuffix("_date"), value, [span]))
    tail_start = max(0, len(text) - TAIL)
    outcomes = list(_DISPOSITION.finditer(text, tail_start))
    disposition = outcomes[-1] if outcomes else None
    analysis.fields["disposition"] = (
        Value(disposition.group(0).capitalize(), [(disposition.start(), disposition.end())])
        if disposition
        else Value(None, reason="no disposition word in the closing of the decision")
    )
    for name in ("judges", "holding", "procedural_posture"):
        analysis.fields[name] = Value(None, reason=NEEDS_MODEL)
    analysis.fields["cited_authorities"] = Value(
        [c.normalized for c in citations], [(c.start, c.end) for c in citations]
    )
    return analysis


_COURT_WORD = re.compile(r"\bcourt\b", re.IGNORECASE)
_LINE = re.compile(r"[^\n]+")


def _court_line(text: str, end: int, jurisdiction: str | None) -> Span | None:
    """The caption line that names the court when its name is written otherwise than the
    court's canonical one ("Supreme Court of Arkansas" for "Arkansas Supreme Court"): the
    first short line with the word "court" (and the jurisdiction, when known), not the
    court appealed from."""
    candidates = []
    for line in _LINE.finditer(text, 0, end):
        words = line.group().strip()
        if len(words) > 120 or not _COURT_WORD.search(words):
            continue
        if re.match(r"(?:on\s+)?appeal\s+from\b", words, re.IGNORECASE):
            continue
        at = line.start() + line.group().index(words)
        candidates.append(((at, at + len(words)), words))
    for span, words in candidates:
        if jurisdiction and jurisdiction.lower() in words.lower():
            return span
    return candidates[0][0] if candidates else None


def _date_span(text: str, iso: str) -> Span | None:
    for match in DATE.finditer(text, 0, min(len(text), 15_000)):
        if iso_date(match) == iso:
            return (match.start(), match.end())
    return None
