"""What kind of legal document a text is, from strong signals in its opening and closing."""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import islice

from lexbase.ingest.types import DocumentType

MIN_SCORE = 3  # below this nothing is a strong enough signal, and the type is "other"

_I, _M = re.IGNORECASE, re.MULTILINE


@dataclass(frozen=True, slots=True)
class _Signal:
    kind: DocumentType
    needles: tuple[str, ...]  # lower-case words one of which the text must contain
    pattern: re.Pattern[str]
    weight: int
    cap: int  # how many occurrences count; repetition adds little evidence


def _signal(
    kind: DocumentType, needles: str, regex: str, weight: int, cap: int = 1, flags: int = 0
) -> _Signal:
    return _Signal(kind, tuple(needles.split("|")), re.compile(regex, flags), weight, cap)


# Upper-case title lines ("MOTION TO DISMISS", "BRIEF OF APPELLANT") are matched case-sensitively:
# an opinion's "the motion to suppress" or a contract's "this Agreement" in running text is
# weaker evidence than a document's own title.
_SIGNALS = (
    _signal("opinion", "delivered", r"delivered\s+the[\s,]+opinion", 3, flags=_I),
    _signal(
        "opinion",
        "opinion",
        r"^\s*opinion\s+(?:delivered|filed|of\s+the\s+court)",
        3,
        flags=_I | _M,
    ),
    _signal("opinion", "curiam", r"^\s*per\s+curiam\s*[.:]?\s*$", 3, flags=_I | _M),
    _signal("opinion", "justice", r"^[^\n]{0,80}\b(?:Chief\s+)?Justice\s*[.,:]?\s*$", 2, flags=_M),
    _signal(
        "opinion",
        "justice",
        r"^\s*(?:Mr\.\s+)?(?:Chief\s+)?(?i:justice)\s+[A-Z]|\bMr\.\s+(?:Chief\s+)?Justice\s+[A-Z]",
        1,
        flags=_M,
    ),
    _signal("opinion", "j.", r"\bper\s+[A-Z][a-z]+,\s+(?:C\.\s*)?J\.", 2),
    _signal("opinion", "j.", r"\b[A-Z][a-z]+,\s+(?:C\.\s*)?J\.,?\s+(?:dissent|concur)", 2),
    _signal(
        "opinion",
        "affirmed|reversed|vacated|remanded|dismissed|denied",
        r"^\s*(?:(?:judgment|decree|order)\s+)?(?:affirmed|reversed|vacated|remanded|dismissed"
        r"|appeal\s+dismissed|writ\s+denied|petition\s+denied)\b[^\n]{0,60}$",
        2,
        flags=_I | _M,
    ),
    # "should be reversed" closes many briefs; "must be reversed" and "is affirmed" are a court's.
    _signal(
        "opinion",
        "affirmed|reversed",
        r"\b(?:must\s+be\s+|is\s+(?:therefore\s+|hereby\s+)?|are\s+)(?:reversed|affirmed)\b",
        2,
        flags=_I,
    ),
    _signal(
        "opinion",
        "before",
        r"^\s*before:?\s[^\n]{0,150}\b(?:judges?|justices?|JJ?\.)",
        2,
        flags=_I | _M,
    ),
    _signal(
        "opinion",
        "ordered",
        r"\b(?:it\s+is\s+(?:so\s+|hereby\s+)?ordered|so\s+ordered)\b",
        2,
        flags=_I,
    ),
    _signal(
        "opinion",
        "affirm|reverse|hold|conclude",
        r"\bwe\s+(?:affirm|reverse|hold|conclude)\b",
        1,
        cap=2,
        flags=_I,
    ),
    _signal(
        "opinion",
        "opinion",
        r"^\s*(?:memorandum\s+)?opinion(?:\s+and\s+order)?\s*$",
        2,
        flags=_I | _M,
    ),
    _signal("opinion", "certiorari", r"\bcertiorari\s+to\b", 1, flags=_I),
    # A court's order: its title line ("ORDER GRANTING ...", "TRANSFER ORDER", "O R D E R"),
    # and the judge's signature line under it.
    _signal(
        "opinion",
        "order|o r d e r",
        r"^\s*(?:(?:[A-Z][A-Z,&'-]*\s+){0,8}ORDER(?:\s+[A-Z][A-Z,&'-]*){0,12}|O R D E R)\s*$",
        2,
        flags=_M,
    ),
    _signal(
        "opinion",
        "judge",
        r"^\s*(?:(?:Senior|Chief)\s+)?(?:United\s+States\s+|U\.\s?S\.\s+)?"
        r"(?:District|Magistrate|Bankruptcy|Circuit)\s+Judge\s*$",
        2,
        flags=_M,
    ),
    _signal("brief", "brief", r"^[^\na-z]{0,60}\bBRIEF\s+(?:OF|FOR|IN)\b", 4, flags=_M),
    _signal(
        "brief",
        "brief",
        r"\b(?:APPELLANT|APPELLEE|PETITIONER|RESPONDENT|PLAINTIFF|DEFENDANT)S?['\u2019]?S?\s+"
        r"(?:OPENING\s+|REPLY\s+|ANSWERING\s+|PRINCIPAL\s+|RESPONSE\s+)?BRIEF\b",
        4,
    ),
    _signal(
        "brief",
        "statement|argument|authorities|review|presented|appeal|compliance",
        r"^\s*(?:STATEMENT\s+OF\s+(?:THE\s+)?(?:CASE|FACTS|ISSUES?)|SUMMARY\s+OF\s+(?:THE\s+)?ARGUMENT"
        r"|TABLE\s+OF\s+AUTHORITIES|ARGUMENT|JURISDICTIONAL\s+STATEMENT|STATEMENT\s+OF\s+JURISDICTION"
        r"|STANDARD\s+OF\s+REVIEW|ISSUES?\s+PRESENTED(?:\s+FOR\s+REVIEW)?|POINTS?\s+ON\s+APPEAL"
        r"|CERTIFICATE\s+OF\s+COMPLIANCE)\s*[:.]?\s*$",
        1,
        cap=4,
        flags=_M,
    ),
    _signal("brief", "submitted", r"\brespectfully\s+submitted\b", 1, flags=_I),
    # "ORDER GRANTING MOTION TO DISMISS" is the court's order, not the motion.
    _signal(
        "motion",
        "motion",
        r"^(?!\s*(?:\[PROPOSED\]\s*)?ORDER\b)[^\na-z]{0,80}\bMOTION\s+(?:TO|FOR|IN\s+LIMINE)\b",
        4,
        flags=_M,
    ),
    _signal("motion", "move", r"\b(?:hereby|respectfully)\s+moves?\b", 3, flags=_I),
    _signal(
        "motion",
        "move",
        r"\bmoves?\s+(?:this|the)\s+(?:honorable\s+)?court\s+(?:to|for)\b",
        3,
        flags=_I,
    ),
    _signal(
        "motion",
        "memorandum",
        r"^[^\na-z]{0,80}\bMEMORANDUM\s+(?:OF\s+POINTS\s+AND\s+AUTHORITIES\s+)?IN\s+"
        r"(?:SUPPORT|OPPOSITION)\b",
        3,
        flags=_M,
    ),
    _signal("contract", "whereof", r"\bIN\s+WITNESS\s+WHEREOF\b", 4, flags=_I),
    _signal("contract", "whereas", r"\bWHEREAS\b", 2, cap=2),
    _signal("contract", "therefore", r"\bNOW,?\s+THEREFORE\b", 1, flags=_I),
    # A title: "DISTRIBUTOR AGREEMENT", "TELKOM CONTRACT No. 076C/01", "Cooperation Agreement".
    _signal(
        "contract",
        "agreement|contract",
        r"^\s*(?:[A-Z0-9][A-Z0-9&,./'()-]*\s+){0,8}(?:AGREEMENT|CONTRACT)\b",
        3,
        flags=_M,
    ),
    _signal(
        "contract",
        "agreement|contract|lease|addendum",
        r"^\s*(?:[A-Z][\w&,'/-]*\s+){0,8}(?:Agreement|Contract|Lease|Addendum)\s*$",
        3,
        flags=_M,
    ),
    _signal(
        "contract",
        "agreement|contract|lease",
        r"\bthis\s+(?:[\w-]+\s+){0,6}(?:agreement|contract|lease)\b[^.]{0,160}?"
        r"\b(?:made|entered\s+into|effective|dated|sets\s+forth)\b",
        3,
        flags=_I,
    ),
    _signal("contract", "party", r"\bParty\s+[AB]\b", 2),
    _signal("contract", "between", r"\bby\s+and\s+between\b", 2, flags=_I),
    _signal(
        "contract",
        "agree|hereinafter|witnesseth",
        r"\b(?:the\s+parties\s+(?:hereto\s+)?(?:hereby\s+)?agree|hereinafter\s+(?:referred\s+to\s+as"
        r"|called)|witnesseth)\b",
        1,
        cap=2,
        flags=_I,
    ),
    _signal(
        "contract",
        "effective|governing|indemnification",
        r"\b(?:Effective\s+Date|Governing\s+Law|Indemnification)\b",
        1,
        cap=2,
    ),
    _signal("statute", "enacted", r"\bbe\s+it\s+enacted\b", 4, flags=_I),
    _signal("statute", "act", r"^\s*AN\s+ACT\b", 3, flags=_M),
    # Contracts number their sections too: headings alone never make a statute.
    _signal(
        "statute", "sec|§", r"^\s*(?:SECTION|Section|SEC\.|Sec\.|§)\s*\d+[A-Za-z.-]*", 1, 2, _M
    ),
    _signal("statute", "amended", r"\bis\s+(?:hereby\s+)?amended\s+to\s+read\b", 2, flags=_I),
    _signal("statute", "effect|act", r"\b(?:shall\s+take\s+effect|This\s+Act)\b", 1),
)
# Ties go to the earlier kind: a court's opinion quoting a contract is still an opinion.
_ORDER: tuple[DocumentType, ...] = ("opinion", "motion", "brief", "contract", "statute")


def classify(excerpt: str) -> DocumentType:
    """The document type whose signals score highest in `excerpt`, or "other"."""
    # A substring test is far cheaper than a regex scan; most signals are absent from most texts.
    lowered = excerpt.lower()
    scores = dict.fromkeys(_ORDER, 0)
    for signal in _SIGNALS:
        if not any(needle in lowered for needle in signal.needles):
            continue
        hits = sum(1 for _ in islice(signal.pattern.finditer(excerpt), signal.cap))
        scores[signal.kind] += signal.weight * hits
    best = max(_ORDER, key=lambda kind: scores[kind])
    return best if scores[best] >= MIN_SCORE else "other"
