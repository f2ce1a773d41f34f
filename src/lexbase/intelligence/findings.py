"""Analyses of a document's text, each finding with its source: pure functions over the text,
its stored legal metadata and the clause model — no database, no app.

A source is `(start, end)` into the document's text; a value the text does not show is
`None` with a reason, never guessed. What these rules cannot read is left `None` with the
reason, and an `Ask` names the sentences a language model may choose its answer from
(`intelligence/extraction.py`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from lexbase.ingest.chunking import sentence_spans
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
class Obligation:
    party: str | None
    text: str
    sources: list[Span]


@dataclass(frozen=True)
class Ask:
    """A field the rules could not read, put to a language model: the question, and the
    sentences (spans of the text) it may answer from. `verbatim`: the value must be written
    in the sentence chosen (a period, an amount, a name), not described by it."""

    field: str
    question: str
    candidates: tuple[Span, ...]
    verbatim: bool


@dataclass
class Analysis:
    analysis_type: str
    parties: list[Party] = field(default_factory=list)
    key_dates: list[KeyDate] = field(default_factory=list)
    clauses: list[ClauseFinding] = field(default_factory=list)
    fields: dict[str, Value] = field(default_factory=dict)
    obligations: list[Obligation] = field(default_factory=list)
    risks: list[Risk] = field(default_factory=list)
    asks: list[Ask] = field(default_factory=list)


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


# Values read from a clause's sentences: the field, the clause categories it is read from
# (first found wins), what the value looks like, and the question a model is asked otherwise.
_NUMBER = (
    r"(?:\d+|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|"
    r"twenty|thirty|forty-five|forty|sixty|ninety|one\s+hundred\s+(?:and\s+)?\w+)"
)
_DURATION = re.compile(
    rf"\b{_NUMBER}(?:\s*\(\d+\))?[\s-]+(?:calendar\s+|business\s+|working\s+)?"
    r"(?:day|week|month|year)s?\b",
    re.IGNORECASE,
)
_AMOUNT = re.compile(
    r"(?:US\s?|U\.S\.\s?)?\$\s?\d[\d,]*(?:\.\d+)?(?:\s+(?:million|billion|thousand))?"
    r"|\b\d[\d,]*(?:\.\d+)?\s+(?:dollars|USD|euros|EUR)\b"
    r"|\b(?:the\s+)?(?:total\s+|aggregate\s+)?(?:amounts?|fees|sums?|charges|price)\s+"
    r"(?:(?:that|which)\s+(?:\S+\s+){0,3}?)?(?:actually\s+)?(?:paid|payable|received)"
    r"(?:\s+or\s+payable)?(?:\s+(?:by|to)\s+\w+)?"
    r"(?:\s+(?:under|pursuant\s+to|in|during)\s+[^.;]{0,80}?(?:months?|years?|agreement))?",
    re.IGNORECASE,
)
CLAUSE_VALUES: dict[str, tuple[tuple[str, ...], re.Pattern[str], str]] = {
    "renewal_term": (
        ("Renewal Term",),
        _DURATION,
        "For how long does the contract renew each time?",
    ),
    "notice_period": (
        ("Notice Period To Terminate Renewal", "Termination For Convenience"),
        _DURATION,
        "How much notice must a party give to terminate or prevent renewal?",
    ),
    "liability_cap": (
        ("Cap On Liability",),
        _AMOUNT,
        "What is the maximum amount a party can be liable for?",
    ),
}
# Obligations: a sentence in which a party (by name or the short name the contract defines
# for it) "shall", "must", "agrees to" or "will" do something.
_DEFINED = re.compile(r"\(\s*(?:the\s+)?[\"“]([A-Z][A-Za-z&.\- ]{1,40})[\"”]\s*\)")
_DUTY = (
    r"\s+(?:shall|must|agrees?\s+to|will|undertakes?\s+to|is\s+obligated\s+to)"
    r"\s+(?!not\s+be\s+liable)"
)
MAX_OBLIGATIONS = 40
MAX_OBLIGATION_CHARS = 600


def analyze_contract(text: str, metadata: dict[str, Any], model: ClauseModel) -> Analysis:
    analysis = Analysis("contract", clauses=model.find(text))
    analysis.parties = _contract_parties(text, metadata)
    analysis.key_dates = _dates_in_context(text)
    by_category = {c.category: c for c in analysis.clauses}
    analysis.fields["governing_law"] = _governing_law(text, by_category.get("Governing Law"))
    for name, (categories, pattern, question) in CLAUSE_VALUES.items():
        found = [by_category[c] for c in categories if c in by_category]
        value, candidates = _clause_value(text, [c for c in found if c.present], pattern)
        if value.value is None and value.reason is None:
            value.reason = f"no {' or '.join(c.lower() for c in categories)} clause was found"
        analysis.fields[name] = value
        if candidates:
            analysis.asks.append(Ask(name, question, candidates, verbatim=True))
    analysis.obligations = _obligations(text, analysis.parties)
    for category, (message, severity) in RISKY.items():
        finding = by_category.get(category)
        if finding is not None and finding.present:
            spans = [(s.start, s.end) for s in finding.spans]
            analysis.risks.append(Risk(message, severity, spans))
    return analysis


def _clause_value(
    text: str, clauses: list[ClauseFinding], pattern: re.Pattern[str]
) -> tuple[Value, tuple[Span, ...]]:
    """The first value `pattern` finds in the clauses' sentences, best sentence first; or
    none, and those sentences for a model to read."""
    spans = [(s.start, s.end) for clause in clauses for s in clause.spans]
    for start, end in spans:
        found = pattern.search(text, start, end)
        if found is not None:
            return Value(" ".join(found.group().split()), [(found.start(), found.end())]), ()
    if not spans:
        return Value(None), ()
    return Value(None, spans[:1], "the clause states no value these rules read"), tuple(spans)


def _obligations(text: str, parties: list[Party]) -> list[Obligation]:
    """Sentences binding a named party, in the order written."""
    names = {p.name for p in parties}
    names.update(m.group(1).strip() for m in _DEFINED.finditer(text, 0, min(len(text), HEAD)))
    names = {n for n in names if len(n) >= 2}
    if not names:
        return []
    alternatives = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    duty = re.compile(rf"\b(?:the\s+)?(?P<party>{alternatives}){_DUTY}", re.IGNORECASE)
    found = []
    for start, end in sentence_spans(text):
        if end - start > MAX_OBLIGATION_CHARS:
            continue
        match = duty.search(text, start, end)
        if match is None:
            continue
        party = next((n for n in names if n.lower() == match.group("party").lower()), None)
        found.append(Obligation(party, " ".join(text[start:end].split()), [(start, end)]))
        if len(found) >= MAX_OBLIGATIONS:
            break
    return found


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
    analysis.fields["judges"] = _judges(text)
    analysis.fields["procedural_posture"] = _posture(text, analysis)
    analysis.fields["holding"] = _holding(text, analysis, disposition)
    analysis.fields["cited_authorities"] = Value(
        [c.normalized for c in citations], [(c.start, c.end) for c in citations]
    )
    return analysis


# The lines that name an opinion's author: "Mr. Chief Justice English", "Darrell Hickman,
# Justice.", "Jack Holt, Jr., Chief Justice.", "Per Curiam." — alone on their line. A judge
# named "Hon." is the court below's, unless the opinion's "delivered" follows the name.
_AUTHOR = re.compile(
    r"^[ \t]*(?P<name>(?:Mr\.\s+)?(?:Chief\s+)?(?:Justice|Judge)\s+[A-Z][\w'\u2019.-]+"
    r"|[A-Z][\w'\u2019.-]+(?:\s+[A-Z][\w'\u2019.-]*){0,3},(?:\s+Jr\.,)?\s+(?:Special\s+)?(?:Chief\s+)?"
    r"(?:Justice|Judge)|Per\s+Curiam)[ \t]*[.,:]?[ \t]*$",
    re.MULTILINE,
)
_HOLDS = re.compile(
    r"\b(?:we\s+(?:therefore\s+|thus\s+|now\s+)?(?:hold|conclude|decide)|"
    r"(?:it\s+is|we\s+are\s+of\s+the\s+opinion)\s+that|the\s+court\s+holds)\b",
    re.IGNORECASE,
)
_POSTURE_LINE = re.compile(
    r"^[ \t]*(?P<line>(?:On\s+)?(?:Appeal|Petition|Certiorari|Error)\s+(?:from|to)\s+[^\n]{3,150}?)"
    r"[ \t]*[.;]?[ \t]*$",
    re.MULTILINE | re.IGNORECASE,
)
_POSTURE = re.compile(
    r"\b(?:appeal(?:s|ed)?\s+(?:from|the)|on\s+appeal|petition(?:s|ed)?\s+for|"
    r"(?:was|were)\s+convicted|summary\s+judgment|motion\s+to\s+dismiss|"
    r"(?:trial|circuit|chancery|lower)\s+court\s+(?:granted|denied|entered|dismissed|found))",
    re.IGNORECASE,
)
MAX_CANDIDATES = 10
MAX_JUDGES = 8


def _judges(text: str) -> Value:
    """The opinions' authors, each named alone on the line above its opinion."""
    names: list[str] = []
    sources: list[Span] = []
    for match in _AUTHOR.finditer(text):
        name = " ".join(match.group("name").split())
        following = text[match.end() : match.end() + 80].lstrip().lower()
        if name.startswith("Hon.") and not following.startswith("delivered"):
            continue
        if name.lower() in (n.lower() for n in names):
            continue
        names.append(name)
        sources.append((match.start("name"), match.start("name") + len(match.group("name"))))
        if len(names) >= MAX_JUDGES:
            break
    if not names:
        return Value(None, reason="no line names the opinion's author")
    return Value(names, sources)


def _posture(text: str, analysis: Analysis) -> Value:
    """How the case came to the court: its "Appeal from …" line, else a model's reading of
    the opening sentences that speak of the proceedings below."""
    line = _POSTURE_LINE.search(text, 0, min(len(text), HEAD))
    if line is not None:
        span = (line.start("line"), line.end("line"))
        return Value(" ".join(line.group("line").split()), [span])
    candidates = _sentences_matching(text, _POSTURE, 0, max(HEAD, len(text) // 3))
    if candidates:
        question = "How did this case come before the court (its procedural history)?"
        analysis.asks.append(Ask("procedural_posture", question, candidates, verbatim=False))
    return Value(None, reason=NEEDS_MODEL if candidates else "no sentence tells the proceedings")


def _holding(text: str, analysis: Analysis, disposition: re.Match[str] | None) -> Value:
    """The court's own statement of its holding ("We hold that …"); else the sentences that
    conclude, and those before the disposition, for a model to choose from."""
    holds = _sentences_matching(text, _HOLDS, 0, len(text))
    stated = [span for span in holds if re.search(r"\bhold", text[span[0] : span[1]], re.I)]
    if stated:
        start, end = stated[0]
        return Value(" ".join(text[start:end].split()), [stated[0]])
    closing_end = disposition.start() if disposition is not None else len(text)
    closing = sentence_spans(text, max(0, closing_end - 1_500), closing_end)[-4:]
    candidates = tuple(dict.fromkeys([*holds, *closing]))[:MAX_CANDIDATES]
    if candidates:
        question = "What did the court hold (its decision on the question before it)?"
        analysis.asks.append(Ask("holding", question, candidates, verbatim=False))
    return Value(None, reason=NEEDS_MODEL if candidates else "no sentence states a holding")


def _sentences_matching(
    text: str, pattern: re.Pattern[str], start: int, end: int
) -> tuple[Span, ...]:
    found = [
        (a, b)
        for a, b in sentence_spans(text, start, min(end, len(text)))
        if b - a <= MAX_OBLIGATION_CHARS and pattern.search(text, a, b)
    ]
    return tuple(found[:MAX_CANDIDATES])


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
