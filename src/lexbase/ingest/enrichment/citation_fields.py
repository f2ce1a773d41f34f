"""Checked fields of one eyecite citation: case name, pinpoint, year and court, section refs."""

from __future__ import annotations

import re
from dataclasses import replace

from eyecite.helpers import get_court_by_paren
from eyecite.models import CitationBase, ResourceCitation

from lexbase.ingest.enrichment.text import OffsetMap, squash
from lexbase.ingest.types import Citation

_PIN_PREFIX = re.compile(r"^[\s,]*(?:at\s+)?")
_NOT_A_NAME = re.compile(r"[\d()§]")
# eyecite keeps a docket number inside a name: "United States v. Qin, No. 21-1832, __F.4th__".
_NAME_DOCKET = re.compile(r",?\s+Nos?\.\s.*$")
# The first "(court year)" parenthetical after a citation, past its pinpoint and parallel cites.
_DATE_PAREN = re.compile(
    r"[^()]{0,120}?\((?P<court>[^()\d]{0,40}?)\s?(?P<year>1[6-9]\d\d|20\d\d)\)"
)
# What follows a bare "§" eyecite could not place: the section number and its subsections.
_SECTION = re.compile(r"§§?\s*(?P<section>\d[\w.:\u2013-]*(?:\(\w{1,4}\))*)")
# The code's name written before "§", e.g. "Ark. Stat. Ann." or "42 U.S.C." (title, then words).
_CODE_NAME = re.compile(
    r"(?:\b(?P<title>\d{1,3}) )?(?P<code>(?:(?:[A-Z][A-Za-z'\u2019.]*|&) ){1,6})$"
)
_CODE_NOUNS = frozenset({"Code", "Statutes", "Laws", "Act", "Rules", "Regulations", "Constitution"})
_NOT_CODE_WORDS = frozenset(
    {"See", "Also", "Cf.", "But", "Under", "And", "In", "The", "Accord", "Compare", "Id.", "Ibid."}
)


def case_name(
    plaintiff: str | None, defendant: str | None, name_start: int | None, previous_end: int
) -> str | None:
    """ "Plaintiff v. Defendant" from eyecite's parts, or None where they cannot be right.

    eyecite's backwards scan for a name can run across a paragraph break or over the citation
    before it ("... (1973). Smith v. Jones, 1 F.3d 2" gives defendant "Wade"); no name is better
    than a wrong one. `previous_end` is where the previous citation (not a parallel one) ends.
    """
    if any("\n" in part for part in (plaintiff, defendant) if part):
        return None
    if name_start is not None and name_start < previous_end:
        return None
    parts = [
        _NAME_DOCKET.sub("", squash(part)).strip(" ,;") for part in (plaintiff, defendant) if part
    ]
    parts = [part for part in parts if part]
    return " v. ".join(parts) if parts else None


def plausible_name(guess: str | None) -> str | None:
    """eyecite's guess at a short form's antecedent, unless it is plainly not a name."""
    if not guess:
        return None
    name = squash(guess).strip(" ,;")
    return name if name and not _NOT_A_NAME.search(name) else None


def pinpoint(pin_cite: str | None) -> str | None:
    """ ", at 240" -> "240"; "at *2" -> "*2"."""
    if not pin_cite:
        return None
    pin = _PIN_PREFIX.sub("", squash(pin_cite)).strip(" ,")
    return pin or None


def checked_year(citation: Citation, clean: str, end: int, limit: int) -> Citation:
    """Keep eyecite's year and court only if they come from this citation's own parenthetical.

    eyecite's post-citation pattern can run on past text and later citations to the next
    "(... year)" it finds: in "271 Ark. 351, 609 S.W.2d 23 (1980); Ark. Stat. Ann. § 5-713
    (Supp. 1985)" it gives 1985. On the Arkansas fixtures that is 7% of case citations with a
    year. The citation's own parenthetical lies between `end` (where it ends in `clean`) and
    `limit` (where the next citation outside its parallel group starts).
    """
    if citation.year is None or citation.year in clean[end:limit]:
        return citation
    paren = _DATE_PAREN.match(clean, end, limit)
    court_text = paren.group("court").strip() if paren is not None else ""
    court = get_court_by_paren(court_text) if court_text else None
    if court is None and citation.court == "scotus":
        court = "scotus"  # from the reporter, not from a parenthetical
    year = paren.group("year") if paren is not None else None
    return replace(citation, year=year, court=court)


def section_reference(
    text: str, clean: str, offsets: OffsetMap, clean_start: int
) -> Citation | None:
    """eyecite marks a "§" it cannot place; widen it to the code's name and section number."""
    section = _SECTION.match(clean, clean_start)
    if section is None:
        return None  # a "§" with no section number identifies nothing
    section_number = section.group("section").rstrip(".:\u2013-")
    section_end = section.start("section") + len(section_number)
    code_start = clean_start
    code: str | None = None
    title: str | None = None
    before = _CODE_NAME.search(clean, max(0, clean_start - 80), clean_start)
    if before is not None:
        written = before.group("code").split()
        # The name is what follows the last word that cannot be part of one ("See", "Ibid.").
        cut = max((i + 1 for i, word in enumerate(written) if word in _NOT_CODE_WORDS), default=0)
        words = written[cut:]
        # A code's name is abbreviated ("Ark. Stat. Ann.") or ends in a word like "Code"
        # ("Texas Insurance Code"); "The Act §" or a sentence's capitalised words are not one.
        if any(word.endswith(".") for word in words) or (
            len(words) >= 2 and words[-1] in _CODE_NOUNS
        ):
            code = " ".join(words)
            title = before.group("title") if not cut else None
            code_start = clean_start - len(code) - 1 - (len(title) + 1 if title else 0)
    start, end = offsets.start(code_start), offsets.end(section_end)
    return Citation(
        kind="other",
        text=text[start:end],
        normalized=re.sub(r"§(§?)\s*", r"§\1 ", squash(text[start:end])),
        start=start,
        end=end,
        reporter=code,
        volume=title,
        page=section_number,
    )


# eyecite ships py.typed but leaves these methods unannotated; the ignores live here only.
def span(cite: CitationBase) -> tuple[int, int]:
    start, end = cite.span()  # type: ignore[no-untyped-call]
    return int(start), int(end)


def corrected_citation(cite: ResourceCitation) -> str:
    return str(cite.corrected_citation())  # type: ignore[no-untyped-call]


def corrected_reporter(cite: ResourceCitation) -> str | None:
    reporter = cite.corrected_reporter()  # type: ignore[no-untyped-call]
    return str(reporter) if reporter else None


def corrected_page(cite: ResourceCitation) -> str | None:
    page = cite.corrected_page()  # type: ignore[no-untyped-call]
    return str(page) if page else None
