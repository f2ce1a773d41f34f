"""Citations found by eyecite, with offsets into the original text and short forms resolved."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Literal

from eyecite import get_citations, resolve_citations
from eyecite.models import (
    CitationBase,
    FullCaseCitation,
    FullCitation,
    FullLawCitation,
    IdCitation,
    ReferenceCitation,
    Resource,
    ResourceCitation,
    ShortCaseCitation,
    SupraCitation,
    UnknownCitation,
)

from lexbase.ingest.enrichment import citation_fields as fields
from lexbase.ingest.enrichment.text import OffsetMap, normalize_whitespace, squash
from lexbase.ingest.types import Citation

Kind = Literal["case", "statute", "short", "id", "supra", "other"]

# eyecite's cost grows faster than the text: each reporter abbreviation present adds a regex
# pass over the whole text, and each full citation a search of the rest of it for "Name at
# 240" references. On the 288 Arkansas opinions joined into one 2.2 MB text it takes 95 s of
# CPU at once and 12 s in 20 kB pieces. Pieces end at paragraph or sentence breaks, and
# resolution (Id., supra, short forms) still runs over the whole document; only "Name at 240"
# references to a citation in an earlier piece are not found.
SEGMENT_CHARS = 20_000
_SENTENCE_END = re.compile(r"(?<=[a-z]{3}[.?!]) (?=[A-Z])")


@dataclass(frozen=True, slots=True)
class _Found:
    cite: CitationBase
    base: int  # offset of its piece in the normalised text

    @property
    def span(self) -> tuple[int, int]:
        start, end = fields.span(self.cite)
        return self.base + start, self.base + end

    @property
    def name_start(self) -> int | None:
        start = self.cite.full_span_start
        return None if start is None else self.base + start


def extract_citations(text: str) -> list[Citation]:
    """Every citation eyecite finds, in document order; spans index `text` itself."""
    clean, offsets = normalize_whitespace(text)
    if not clean.strip():
        return []  # eyecite refuses empty text
    found = [
        _Found(cite, start)
        for start, end in _segments(clean)
        for cite in get_citations(clean[start:end])
    ]
    antecedents = _antecedents(found)
    converted: dict[int, Citation] = {}
    citations: list[Citation] = []
    limits = _group_ends(found, len(clean))
    for index, item in enumerate(found):
        citation = _convert(item, text, clean, offsets, _previous_end(found, index))
        if citation is None:
            continue
        if isinstance(item.cite, FullCaseCitation):
            citation = fields.checked_year(citation, clean, item.span[1], limits[index])
        if isinstance(item.cite, FullCitation):
            converted[id(item.cite)] = citation
        elif (full := antecedents.get(id(item.cite))) is not None and id(full) in converted:
            citation = _resolved(citation, converted[id(full)])
        citations.append(citation)
    return citations


def _segments(clean: str) -> Iterator[tuple[int, int]]:
    start = 0
    while start < len(clean):
        end = start + SEGMENT_CHARS
        if end >= len(clean):
            end = len(clean)
        elif (paragraph := clean.find("\n", end, end + SEGMENT_CHARS)) != -1:
            end = paragraph + 1
        elif (sentence := _SENTENCE_END.search(clean, end, end + SEGMENT_CHARS)) is not None:
            end = sentence.end()
        elif (space := clean.find(" ", end)) != -1:
            end = space + 1
        else:
            end = len(clean)
        yield start, end
        start = end


def _parallel(first: _Found, second: _Found) -> bool:
    """Parallel citations ("268 Ark. 94, 594 S.W.2d 13") share one case name span."""
    return (
        isinstance(first.cite, FullCaseCitation)
        and isinstance(second.cite, FullCaseCitation)
        and first.name_start == second.name_start
    )


def _group_ends(found: list[_Found], length: int) -> list[int]:
    """For each citation, where the next citation outside its parallel group starts."""
    ends = [length] * len(found)
    for index, item in enumerate(found):
        later = index + 1
        while later < len(found) and _parallel(item, found[later]):
            later += 1
        if later < len(found):
            ends[index] = found[later].span[0]
    return ends


def _previous_end(found: list[_Found], index: int) -> int:
    """Where the nearest earlier citation that is not parallel to this one ends."""
    earlier = index - 1
    while earlier >= 0 and _parallel(found[earlier], found[index]):
        earlier -= 1
    return found[earlier].span[1] if earlier >= 0 else -1


def _antecedents(found: list[_Found]) -> dict[int, FullCitation]:
    """Map each id./supra/short/reference citation (by identity) to the full one it refers to."""
    antecedents: dict[int, FullCitation] = {}
    for resource, members in resolve_citations([item.cite for item in found]).items():
        if not isinstance(resource, Resource):
            continue
        for member in members:
            if member is not resource.citation and not isinstance(member, FullCitation):
                antecedents[id(member)] = resource.citation
    return antecedents


def _resolved(citation: Citation, antecedent: Citation) -> Citation:
    # A resolved short form names what it points at, so all mentions of one authority group
    # under one normalized string; its own pinpoint is kept.
    return replace(
        citation,
        normalized=antecedent.normalized,
        reporter=antecedent.reporter,
        volume=antecedent.volume,
        page=antecedent.page,
        year=antecedent.year,
        court=antecedent.court,
        case_name=antecedent.case_name or citation.case_name,
    )


def _convert(
    item: _Found, text: str, clean: str, offsets: OffsetMap, previous_end: int
) -> Citation | None:
    cite = item.cite
    clean_start, clean_end = item.span
    if isinstance(cite, UnknownCitation):
        return fields.section_reference(text, clean, offsets, clean_start)
    start, end = offsets.start(clean_start), offsets.end(clean_end)
    base = Citation(
        kind="other",
        text=text[start:end],
        normalized=squash(text[start:end]),
        start=start,
        end=end,
        pinpoint=fields.pinpoint(cite.metadata.pin_cite),
    )
    if isinstance(cite, ResourceCitation):
        return _resource(cite, base, item.name_start, previous_end)
    kind: Kind
    if isinstance(cite, IdCitation):
        kind = "id"
    elif isinstance(cite, SupraCitation):
        kind = "supra"
    elif isinstance(cite, ReferenceCitation):
        kind = "short"  # "Roe at 240": a short form by name
    else:
        return base
    metadata = cite.metadata
    guess = getattr(metadata, "antecedent_guess", None) or getattr(metadata, "plaintiff", None)
    return replace(base, kind=kind, case_name=fields.plausible_name(guess))


def _resource(
    cite: ResourceCitation, base: Citation, name_start: int | None, previous_end: int
) -> Citation:
    groups, metadata = cite.groups, cite.metadata
    kind: Kind
    volume: str | None
    page: str | None
    case_name: str | None = None
    if isinstance(cite, FullCaseCitation):
        kind, volume, page = "case", groups.get("volume"), fields.corrected_page(cite)
        case_name = fields.case_name(
            metadata.plaintiff, metadata.defendant, name_start, previous_end
        )
    elif isinstance(cite, ShortCaseCitation):
        # A short form's "page" is the pinpoint ("410 U.S. at 150"), not the first page.
        kind, volume, page = "short", groups.get("volume"), None
        case_name = fields.plausible_name(metadata.antecedent_guess)
    elif isinstance(cite, FullLawCitation):
        # A code's title and section fill the volume/page slots, so (reporter, volume, page)
        # identifies a statute the way it identifies a case.
        kind, volume, page = "statute", groups.get("title"), groups.get("section")
    else:
        kind, volume, page = "other", groups.get("volume"), groups.get("page")
    return replace(
        base,
        kind=kind,
        normalized=squash(fields.corrected_citation(cite)),
        reporter=fields.corrected_reporter(cite),
        volume=volume,
        page=page,
        year=metadata.year,
        court=getattr(metadata, "court", None),
        case_name=case_name,
    )
