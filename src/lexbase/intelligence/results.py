"""What document intelligence answers: a stored result rendered for the API, every finding
with its sources — the exact quote, its offsets and its page in the document's text."""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lexbase.documents.models import Document
from lexbase.intelligence.findings import Analysis, Span
from lexbase.intelligence.models import DocumentAnalysis
from lexbase.intelligence.schemas import AnalysisOut, SummaryOut

MODEL_NAME = "lexbase-clauses (TF-IDF + logistic regression) + rules"


@dataclass
class Loaded:
    document: Document
    kind: str
    key: str
    cached: DocumentAnalysis | None
    text: str = ""
    pages: list[dict[str, int]] = field(default_factory=list)
    citations: list[Any] = field(default_factory=list)

    def locate(self, spans: list[Span]) -> list[dict[str, Any]]:
        """Sources for spans of the text: the exact quote, the offsets and the page."""
        starts = [p["start"] for p in self.pages]
        return [
            {"quote": self.text[a:b], "start": a, "end": b, "page": page_of(self.pages, starts, a)}
            for a, b in spans
        ]


def render(
    analysis: Analysis,
    sources: Callable[[list[Span]], list[dict[str, Any]]],
    document_type: str | None,
) -> dict[str, Any]:
    return {
        "analysis_type": analysis.analysis_type,
        "document_type": document_type,
        "parties": [
            {"name": p.name, "role": p.role, "sources": sources(p.sources)}
            for p in analysis.parties
        ],
        "key_dates": [
            {"kind": d.kind, "date": d.date, "sources": sources(d.sources)}
            for d in analysis.key_dates
        ],
        "clauses": [
            {
                "category": c.category,
                "present": c.present,
                "confidence": c.confidence,
                "sources": sources([(s.start, s.end) for s in c.spans]),
            }
            for c in analysis.clauses
        ],
        "fields": {
            name: {"value": v.value, "sources": sources(v.sources), "reason": v.reason}
            for name, v in analysis.fields.items()
        },
        "obligations": [
            {"party": o.party, "text": o.text, "sources": sources(o.sources)}
            for o in analysis.obligations
        ],
        "risks": [
            {"text": r.text, "severity": r.severity, "sources": sources(r.sources)}
            for r in analysis.risks
        ],
        "summary": None,
        "model": MODEL_NAME,
    }


def page_of(pages: list[dict[str, int]], starts: list[int], offset: int) -> int | None:
    index = bisect.bisect_right(starts, offset) - 1
    return pages[index]["page"] if index >= 0 else None


def summary_out(row: DocumentAnalysis, *, cached: bool) -> SummaryOut:
    return SummaryOut.model_validate(
        {
            **row.result,
            "document_id": row.document_id,
            "cached": cached,
            "created_at": row.created_at,
        }
    )


def analysis_out(row: DocumentAnalysis, *, cached: bool) -> AnalysisOut:
    return AnalysisOut.model_validate(
        {
            **row.result,
            "id": row.id,
            "document_id": row.document_id,
            "cached": cached,
            "created_at": row.created_at,
        }
    )
