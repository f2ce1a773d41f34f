"""Legal metadata of a document's text: citations, courts, parties, case number, dates, type.

`enrich` is pure, synchronous and deterministic, and runs in worker processes on whole
documents. Its cost is eyecite's pass over the full text; everything else reads a bounded
opening (the caption, the first pages) and closing of the document, so a multi-megabyte
contract costs no more here than a short one beyond that pass.
"""

from __future__ import annotations

from lexbase.ingest.enrichment.caption import find_case_number, find_parties
from lexbase.ingest.enrichment.citations import extract_citations
from lexbase.ingest.enrichment.courts import detect_courts
from lexbase.ingest.enrichment.dates import decision_date, filing_date, mentioned_dates
from lexbase.ingest.enrichment.doctype import classify
from lexbase.ingest.enrichment.text import caption_lines
from lexbase.ingest.types import DocumentType, LegalMetadata

CAPTION_CHARS = 5_000  # court, parties and docket number sit in the caption
HEAD_CHARS = 15_000  # decision/filing dates and document-type signals: the first pages
TAIL_CHARS = 3_000  # dispositions ("Affirmed."), signatures, "IN WITNESS WHEREOF"


def enrich(text: str) -> LegalMetadata:
    head = text[:HEAD_CHARS]
    lines = caption_lines(text[:CAPTION_CHARS])
    courts = detect_courts(lines)
    kind = document_type(text)
    decided = decision_date(head)
    filed = filing_date(head)
    if decided is None and kind == "opinion":
        # Many courts date an opinion only by its filing ("Filed 11 February 2022", or the ECF
        # stamp of an order): for a court's own decision that is the decision date.
        decided = filed
    exclude = {value for value in (decided, filed) if value is not None}
    return LegalMetadata(
        citations=extract_citations(text),
        courts=[court.id for court in courts],
        court_names=[court.name for court in courts],
        jurisdiction=courts[0].jurisdiction if courts else None,
        parties=find_parties(lines),
        case_number=find_case_number(lines),
        decision_date=decided,
        filing_date=filed,
        dates=mentioned_dates(text, exclude),
        document_type=kind,
    )


def document_type(text: str) -> DocumentType:
    """The document's type from its opening pages and its closing (disposition, signatures)."""
    tail = text[max(HEAD_CHARS, len(text) - TAIL_CHARS) :]
    return classify(f"{text[:HEAD_CHARS]}\n{tail}")
