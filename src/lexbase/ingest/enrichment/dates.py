"""Dates written in legal documents, as ISO dates; the decision and filing dates by their labels."""

from __future__ import annotations

import re
from datetime import date

MAX_DATES = 50

_MONTH_NUMBERS = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
    "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
}  # fmt: skip
_MONTH = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?"
    r"|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"
)
# "June 2, 1986" (OCR often drops the space: "September 9,1983"), "11 February 2022",
# "7th day of January, 1857", "03/04/2020" or "05/12/20" (U.S. order), "2020-03-04".
DATE = re.compile(
    rf"\b(?P<m1>{_MONTH})\.?\s{{1,3}}(?P<d1>\d{{1,2}})(?:st|nd|rd|th)?,?\s{{0,3}}(?P<y1>\d{{4}})\b"
    rf"|\b(?P<d2>\d{{1,2}})(?:st|nd|rd|th)?\s{{1,3}}(?:day\s{{1,3}}of\s{{1,3}})?(?P<m2>{_MONTH})\.?,?"
    rf"\s{{1,3}}(?P<y2>\d{{4}})\b"
    r"|\b(?P<m3>\d{1,2})/(?P<d3>\d{1,2})/(?P<y3>\d{4}|\d{2})\b"
    r"|\b(?P<y4>\d{4})-(?P<m4>\d{2})-(?P<d4>\d{2})\b",
    re.IGNORECASE,
)
_SEPARATOR = r"[\s:,.;\u2014\u2013-]*(?:on\s+)?"
_DECIDED = re.compile(
    r"\b(?:opinion\s+(?:delivered|filed|issued|announced|entered)|decided|date\s+decided"
    r"|date\s+of\s+decision|judgment\s+(?:entered|rendered|filed)"
    rf"|decision\s+(?:date|filed|entered|issued))\b{_SEPARATOR}",
    re.IGNORECASE,
)
# Capitalised only: a caption's or ECF stamp's "Filed 03/04/2020", not "the complaint filed on".
_FILED = re.compile(rf"\b(?:Date\s+[Ff]iled|Filed|FILED){_SEPARATOR}")
_OLDEST_YEAR, _NEWEST_YEAR = 1600, 2199


def iso_date(match: re.Match[str]) -> str | None:
    """The ISO form of a `DATE` match, or None if it names no real day."""
    groups = match.groupdict()
    for branch in "1234":
        year = groups[f"y{branch}"]
        if year is None:
            continue
        month_text, day_text = groups[f"m{branch}"], groups[f"d{branch}"]
        month = int(month_text) if month_text.isdigit() else _MONTH_NUMBERS[month_text[:3].lower()]
        return _valid(_full_year(year), month, int(day_text))
    return None


def _full_year(year: str) -> int:
    # Two-digit years follow POSIX strptime's pivot (69 → 2069, 70 → 1970), a fixed rule so
    # the result never depends on when the document is processed.
    if len(year) == 2:
        short = int(year)
        return 2000 + short if short < 70 else 1900 + short
    return int(year)


def _valid(year: int, month: int, day: int) -> str | None:
    if not _OLDEST_YEAR <= year <= _NEWEST_YEAR:
        return None
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return None


def labelled_date(head: str, label: re.Pattern[str]) -> str | None:
    """The first date written right after `label` ("Opinion delivered June 2, 1986")."""
    for found in label.finditer(head):
        match = DATE.match(head, found.end())
        if match is not None and (value := iso_date(match)) is not None:
            return value
    return None


def decision_date(head: str) -> str | None:
    return labelled_date(head, _DECIDED)


def filing_date(head: str) -> str | None:
    return labelled_date(head, _FILED)


def mentioned_dates(text: str, exclude: set[str]) -> list[str]:
    """Distinct dates in order of first mention, up to MAX_DATES; stops scanning once full."""
    seen: dict[str, None] = {}
    for match in DATE.finditer(text):
        value = iso_date(match)
        if value is not None and value not in exclude and value not in seen:
            seen[value] = None
            if len(seen) >= MAX_DATES:
                break
    return list(seen)
