"""HTTP routes of document intelligence (API.md: Document intelligence)."""

from __future__ import annotations

import csv
import io
from typing import Annotated, TypeVar

from fastapi import APIRouter, Body, Depends, Header, Response, status
from fastapi.responses import JSONResponse

from lexbase.auth.deps import Reader, Writer
from lexbase.core.deps import ResourcesDep
from lexbase.intelligence.deps import IntelligenceStateDep
from lexbase.intelligence.schemas import (
    AnalysisOut,
    AnalysisRequest,
    ContractGridOut,
    ContractGridRequest,
    JobAccepted,
    QuestionsOut,
    QuestionsRequest,
    SummaryOut,
    SummaryRequest,
)
from lexbase.intelligence.service import AnalysisService

router = APIRouter(tags=["document intelligence"])


async def analysis_service(resources: ResourcesDep, state: IntelligenceStateDep) -> AnalysisService:
    return AnalysisService(resources, state)


Analyses = Annotated[AnalysisService, Depends(analysis_service)]
T = TypeVar("T")
QUEUED: dict[int | str, dict[str, object]] = {
    202: {"model": JobAccepted, "description": "Long work: runs as a job"}
}


def _answer(made: T | JobAccepted) -> T | JSONResponse:
    if isinstance(made, JobAccepted):
        return JSONResponse(made.model_dump(), status_code=status.HTTP_202_ACCEPTED)
    return made


@router.post("/documents/{document_id}/analysis", response_model=AnalysisOut, responses=QUEUED)
async def analyze_document(
    document_id: str,
    principal: Writer,
    analyses: Analyses,
    body: Annotated[AnalysisRequest | None, Body()] = None,
) -> AnalysisOut | JSONResponse:
    """Contract clauses (CUAD categories), parties, dates and fields, or a case's court,
    parties, docket, dates and disposition — each with its located sources. Long documents
    (or many model calls): 202 and a job; the result is then `GET .../analysis`."""
    return _answer(await analyses.analyze(principal, document_id, body or AnalysisRequest()))


@router.get("/documents/{document_id}/analysis", response_model=AnalysisOut)
async def latest_analysis(document_id: str, principal: Reader, analyses: Analyses) -> AnalysisOut:
    return await analyses.latest(principal, document_id)


@router.post("/documents/{document_id}/summary", response_model=SummaryOut, responses=QUEUED)
async def summarize_document(
    document_id: str,
    principal: Writer,
    analyses: Analyses,
    body: Annotated[SummaryRequest | None, Body()] = None,
) -> SummaryOut | JSONResponse:
    """The document's central sentences (LexRank), or a model's summary checked sentence by
    sentence; each key point quotes its source. Long work: 202 and a job, then ask again."""
    return _answer(await analyses.summarize(principal, document_id, body or SummaryRequest()))


@router.post("/documents/{document_id}/questions", response_model=QuestionsOut, responses=QUEUED)
async def document_questions(
    document_id: str,
    principal: Writer,
    analyses: Analyses,
    body: Annotated[QuestionsRequest | None, Body()] = None,
) -> QuestionsOut | JSONResponse:
    """Questions with answers quoted from the document (study or deposition preparation).
    Long work: 202 and a job, then ask again."""
    return _answer(await analyses.questions(principal, document_id, body or QuestionsRequest()))


@router.post(
    "/analysis/contracts",
    response_model=ContractGridOut,
    responses={200: {"content": {"text/csv": {}}}},
)
async def contract_grid(
    body: ContractGridRequest,
    principal: Writer,
    analyses: Analyses,
    accept: Annotated[str | None, Header()] = None,
) -> ContractGridOut | Response:
    """The clause grid (documents by CUAD categories) over a matter or chosen documents;
    `Accept: text/csv` for a spreadsheet."""
    grid = await analyses.contract_grid(principal, body)
    if accept is None or "text/csv" not in accept:
        return grid
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["document_id", "title", "status", *grid.categories])
    for row in grid.documents:
        found = {c.category: c for c in row.clauses}
        cells = [
            f"{'present' if found[k].present else 'absent'} ({found[k].confidence:.2f})"
            if k in found
            else ""
            for k in grid.categories
        ]
        writer.writerow([row.document_id, row.title, row.status, *cells])
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8")
