"""HTTP routes of document intelligence (API.md: Document intelligence)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends

from lexbase.auth.deps import Reader, Writer
from lexbase.core.deps import ResourcesDep
from lexbase.intelligence.deps import IntelligenceStateDep
from lexbase.intelligence.schemas import (
    AnalysisOut,
    AnalysisRequest,
    SummaryOut,
    SummaryRequest,
)
from lexbase.intelligence.service import AnalysisService

router = APIRouter(tags=["document intelligence"])


def analysis_service(resources: ResourcesDep, state: IntelligenceStateDep) -> AnalysisService:
    return AnalysisService(resources, state)


Analyses = Annotated[AnalysisService, Depends(analysis_service)]


@router.post("/documents/{document_id}/analysis", response_model=AnalysisOut)
async def analyze_document(
    document_id: str,
    principal: Writer,
    analyses: Analyses,
    body: Annotated[AnalysisRequest | None, Body()] = None,
) -> AnalysisOut:
    """Contract clauses (CUAD categories), parties, dates and fields, or a case's court,
    parties, docket, dates and disposition — each with its located sources."""
    return await analyses.analyze(principal, document_id, body or AnalysisRequest())


@router.get("/documents/{document_id}/analysis", response_model=AnalysisOut)
async def latest_analysis(document_id: str, principal: Reader, analyses: Analyses) -> AnalysisOut:
    return await analyses.latest(principal, document_id)


@router.post("/documents/{document_id}/summary", response_model=SummaryOut)
async def summarize_document(
    document_id: str,
    principal: Writer,
    analyses: Analyses,
    body: Annotated[SummaryRequest | None, Body()] = None,
) -> SummaryOut:
    """The document's central sentences (LexRank), each a key point quoting its source."""
    return await analyses.summarize(principal, document_id, body or SummaryRequest())
