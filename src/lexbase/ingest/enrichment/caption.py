"""Parties and case number, read from a document's caption lines."""

from __future__ import annotations

import re
from collections.abc import Iterable

from lexbase.ingest.enrichment.text import CaptionLine, squash

MAX_SIDE_LINES = 4  # a party block longer than this has run into something else
MAX_DOCKET_LINE = 20  # a bare "85-201" line counts only near the top

_ROLE = (
    r"(?:cross[- ]|counter[- ]|third[- ]party\s+)?"
    r"(?:plaintiff|defendant|appellant|appellee|petitioner|respondent|claimant|movant"
    r"|intervenor|relator|complainant|libell?ant|garnishee|real\s+part(?:y|ies)\s+in\s+interest)s?"
)
_ROLES = rf"(?:[\s,;:/()\u2014\u2013-]*(?:and\s+)?\b{_ROLE}\b\.?)+[\s,.;:)]*"
_ROLE_TAIL = re.compile(rf"{_ROLES}$", re.IGNORECASE)
_ROLE_ONLY = re.compile(rf"^{_ROLES}$", re.IGNORECASE)
_ET_AL = re.compile(r"\bet\.?\s+(?:al|ux|vir)\b\.?,?", re.IGNORECASE)
# Capacities and descriptions after a name: ", Individually and as ...", ", in his official
# capacity as ...", ", as Trustee for ...".
_QUALIFIER = re.compile(
    r",\s*(?:individually|in\s+(?:his|her|their|its)\s+(?:official\s+|individual\s+)?capacit|as\s"
    r"|an?\s+[\w\s-]{0,40}?\b(?:corporation|company|partnership|association|municipality)\b)",
    re.IGNORECASE,
)
# A name's final period belongs to it after an abbreviation ("INC.", "M.D."), not after a word.
_ABBREVIATIONS = frozenset(
    {"inc", "co", "corp", "ltd", "jr", "sr", "bros", "assn", "ass'n", "ass\u2019n", "dept", "esq"}
)
_LABEL_PREFIX = re.compile(r"^(?:re|short\s+title|caption|case\s+name|style)\s*:\s*", re.IGNORECASE)
_NUMBER_SUFFIX = re.compile(r",?\s+(?:case\s+)?nos?\.?\s+\S*\d.*$", re.IGNORECASE)

_VERSUS_LINE = re.compile(r"^(?:v|vs|versus|against|-\s*against\s*-|-\s*v\s*-)\.?$", re.IGNORECASE)
_VERSUS_INLINE = re.compile(r"\s(?:v\.|vs\.?|versus)\s")
# "V." also abbreviates middle names ("Pat V. LIVINGSTON, M.D. v. ..."): upper-case versus
# words are only trusted on an all-capitals line.
_VERSUS_INLINE_CAPS = re.compile(r"\s(?:V\.|VS\.?|VERSUS)\s")
_VERSUS_TRAILING = re.compile(r"\s(?:v\.|vs\.?|V\.|VS\.?)$")
_MAX_INLINE_CAPTION = 500
# Words that may stand lower-case in a caption of names ("Smith et al. vs. State use of Jones").
_LINKING_WORDS = ("of", "the", "and", "for", "a", "an", "as", "in", "use")
_NAME_GLUE = frozenset({"v", "vs", "versus", "et", "al", "ux", "vir", *_LINKING_WORDS})
_CITATION_LIKE = re.compile(r"\b\d+\s+(?:[A-Z][\w.']*\s?){1,4}\s?\d+\b")
_NOT_PARTIES = re.compile(
    r"\b(?:motion|brief|memorandum|order|petition\s+for|appeal\s+from)\b", re.IGNORECASE
)
_IN_RE = re.compile(r"^(?:in\s+re|in\s+the\s+matter\s+of)\b[\s:]*(?P<name>.+)$", re.IGNORECASE)
_PROCEEDING_OF = re.compile(
    r"^(?:the\s+)?(?:adoption|estate|guardianship|marriage|custody|application|petition)\s+of\s+",
    re.IGNORECASE,
)
# Lines that end a party block: docket and court lines, headings, dates, rules.
_BOUNDARY = re.compile(
    r"^(?:nos?\b|case\b|docket|civil\s+action|criminal\s+action|cause\b|index\b|in\s+the\b"
    r"|in\s+re\b|for\s+the\b|before\b|on\s+(?:appeal|petition|discretionary)|appeal|certiorari"
    r"|petition\b|hon(?:orable)?\b|\[|filed|argued|submitted|decided|opinion|order\b|motion"
    r"|brief|memorandum|syllabus|per\s+curiam|(?:\w+\s+)?(?:district|division)\b"
    r"|_{3,}|-{3,}|\*{3,}|={3,})"
    r"|\bcourt\b",
    re.IGNORECASE,
)

_NUMBER = r"(?:[A-Z]{1,4}[ -]?)?\d[A-Za-z0-9:./\u2013\u2014-]*[A-Za-z0-9]"
_NUMBERS = rf"(?P<number>{_NUMBER}(?:\s*(?:,|&|and)\s*{_NUMBER})*)"
# "No. 85-123" at the start of a caption line or column ("SMITH, ) No. ED108783").
_NO_AT_START = re.compile(rf"^nos?\b\.?\s*:?\s*{_NUMBERS}", re.IGNORECASE)
# Labels that name a docket number wherever they stand: "Re: Case No. 17-3994".
_LABELLED = re.compile(
    r"\b(?:case|docket|cause|civil\s+action|criminal\s+action|index|bankruptcy\s+case)"
    rf"\s*(?:nos?\b\.?|numbers?\b|#)\s*:?\s*{_NUMBERS}",
    re.IGNORECASE,
)
# ECF stamps: "Case 8:16-cv-01261-DOC-KES Document 40", "Case: 17-2400", "Appeal: 17-2218".
_ECF = re.compile(
    r"\b(?:Case|Appeal)\s*:?\s+"
    r"(?P<number>\d{1,2}:\d{2}-[a-z]{2,4}-\d{2,6}(?:-[A-Z]{1,5})*|\d{2}-\d{2,6})\b",
    re.IGNORECASE,
)
# A docket line on its own, as the Arkansas Reports print it: "85-201", "CR 85-153-A".
_BARE = re.compile(
    r"^(?P<number>(?:CR|CV|CIV|Cr\.?)?\s?\d{2}-\d{1,6}(?:-[A-Z])?"
    r"(?:\s*(?:&|and)\s*(?:CR\s?)?\d{2}-\d{1,6}(?:-[A-Z])?)*)$"
)
# Numbers of another court's case: "USDC No.", "DC Docket #", "Originating Case No.".
_OTHER_COURTS_NUMBER = re.compile(
    r"(?:usdc|u\.s\.d\.c\.|\bdc|district|originating|lower|trial|agency|l\.t\.|below)\s*$",
    re.IGNORECASE,
)
_DASHES = str.maketrans({"\u2013": "-", "\u2014": "-"})


def find_parties(lines: list[CaptionLine]) -> list[str]:
    """Parties named in the caption, plaintiff's side first, without role words."""
    for index, line in enumerate(lines):
        sides = _versus_line(lines, index) or _inline_versus(line.left)
        if sides is not None:
            return [party for side in sides for party in _parties(side)]
        in_re = _IN_RE.match(line.left)
        if in_re is not None and (parties := _parties(_in_re_name(lines, index, in_re))):
            return parties
    return []


def _in_re_name(lines: list[CaptionLine], index: int, in_re: re.Match[str]) -> str:
    """ "In re: Bard IVC Filters Products / Liability Litigation," -> the name over its lines."""
    pieces = [in_re.group("name")]
    for line in lines[index + 1 : index + MAX_SIDE_LINES]:
        if (
            pieces[-1].endswith((",", ".", ":"))
            or not line.left
            or _BOUNDARY.search(line.left)
            or _CITATION_LIKE.search(line.left)
        ):
            break
        pieces.append(line.left)
    return _PROCEEDING_OF.sub("", _NUMBER_SUFFIX.sub("", " ".join(pieces)))


def _versus_line(lines: list[CaptionLine], index: int) -> tuple[str, str] | None:
    """A caption set out over lines: "SMITH, / Plaintiff, / v. / JONES, / Defendant."."""
    left = lines[index].left
    trailing = _VERSUS_TRAILING.search(left)
    if not _VERSUS_LINE.match(left) and trailing is None:
        return None
    first = [left[: trailing.start()]] if trailing is not None else []
    before = _block(reversed(lines[:index]), first)
    after = _block(lines[index + 1 :], [], stop_after_role=True)
    if not before or not after:
        return None
    return " ".join(reversed(before)), " ".join(after)


def _block(
    lines: Iterable[CaptionLine], collected: list[str], *, stop_after_role: bool = False
) -> list[str]:
    names = sum(1 for text in collected if not _ROLE_ONLY.match(text))
    for line in lines:
        text = line.left
        if not text:
            continue
        if _BOUNDARY.search(text) or names >= MAX_SIDE_LINES:
            break
        collected.append(text)
        if _ROLE_ONLY.match(text):
            if stop_after_role and names:
                break
            continue
        names += 1
        if stop_after_role and _ROLE_TAIL.search(text):
            break
    return collected


def _inline_versus(text: str) -> tuple[str, str] | None:
    """A caption on one line: "Pat V. LIVINGSTON, M.D. v. ARKANSAS STATE MEDICAL BOARD"."""
    text = _NUMBER_SUFFIX.sub("", _LABEL_PREFIX.sub("", text))
    split = _VERSUS_INLINE.search(text)
    if split is None and not any(char.islower() for char in text):
        split = _VERSUS_INLINE_CAPS.search(text)
    if (
        split is None
        or len(text) > _MAX_INLINE_CAPTION
        or _CITATION_LIKE.search(text)
        or _NOT_PARTIES.search(text[: split.start()])
        or not _looks_like_names(text)
    ):
        return None
    return text[: split.start()], text[split.end() :]


def _looks_like_names(text: str) -> bool:
    """Names are capitalised; a sentence that cites "Loveless v. May, supra, we held" is not."""
    words = [word for word in text.split() if word.lower().strip(".,") not in _NAME_GLUE]
    capitalised = sum(1 for word in words if not word[0].isalpha() or word[0].isupper())
    return bool(words) and capitalised >= 0.6 * len(words)


def _parties(side: str) -> list[str]:
    parties = []
    for piece in side.split(";"):
        name = _ET_AL.sub("", piece)
        qualifier = _QUALIFIER.search(name)
        if qualifier is not None:
            name = name[: qualifier.start()]
        name = _ROLE_TAIL.sub("", squash(name))
        name = _strip_period(re.sub(r"^(?:and|&)\s+", "", name.strip(" ,;:")).strip(" ,;:"))
        if any(char.isalpha() for char in name) and not _ROLE_ONLY.match(name):
            parties.append(name)
    return parties


def _strip_period(name: str) -> str:
    if not name.endswith("."):
        return name
    last = name.rsplit(maxsplit=1)[-1][:-1]
    if "." in last or last.lower() in _ABBREVIATIONS:
        return name
    return name[:-1].rstrip(" ,;:")


def find_case_number(lines: list[CaptionLine]) -> str | None:
    """The document's own docket or case number, as printed (dashes made plain hyphens)."""
    for index, line in enumerate(lines):
        number = _case_number(line, near_top=index < MAX_DOCKET_LINE)
        if number is not None:
            return squash(number.translate(_DASHES)).strip(" .,;:")
    return None


def _case_number(line: CaptionLine, *, near_top: bool) -> str | None:
    for column in line.columns:
        match = _NO_AT_START.match(column)
        if match is not None and _complete(match):
            return match.group("number")
    for pattern in (_LABELLED, _ECF):
        for match in pattern.finditer(line.text):
            if _complete(match) and not _OTHER_COURTS_NUMBER.search(line.text, 0, match.start()):
                return match.group("number")
    if near_top:
        bare = _BARE.match(line.text)
        if bare is not None:
            return bare.group("number")
    return None


def _complete(match: re.Match[str]) -> bool:
    # A blank form's "Case No. 1:21-cv-________" is not a number yet.
    return match.string[match.end("number") : match.end("number") + 1] not in {"-", "_"}
