"""Document intelligence on the wire (API.md: Document intelligence). Every finding carries
its sources: `quote` is exactly `text[start:end]` of the document's `/text`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

AnalysisType = Literal["contract", "case", "general"]


class AnalysisRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Default: from the document's type (opinions, orders and briefs as cases, else contract).
    analysis_type: AnalysisType | None = None


class SourceOut(BaseModel):
    quote: str
    start: int
    end: int
    page: int | None


class PartyOut(BaseModel):
    name: str
    role: str | None = None
    sources: list[SourceOut]


class KeyDateOut(BaseModel):
    kind: str
    date: str
    sources: list[SourceOut]


class ClauseOut(BaseModel):
    category: str
    present: bool
    confidence: float
    sources: list[SourceOut]


class FieldOut(BaseModel):
    value: Any
    sources: list[SourceOut]
    reason: str | None = None  # why `value` is null (or why it has no source)


class ObligationOut(BaseModel):
    party: str | None = None
    text: str
    sources: list[SourceOut]


class RiskOut(BaseModel):
    text: str
    severity: Literal["low", "medium", "high"]
    sources: list[SourceOut]


class AnalysisOut(BaseModel):
    id: str
    document_id: str
    analysis_type: AnalysisType
    document_type: str | None
    parties: list[PartyOut]
    key_dates: list[KeyDateOut]
    clauses: list[ClauseOut]
    fields: dict[str, FieldOut]
    obligations: list[ObligationOut]
    risks: list[RiskOut]
    summary: str | None
    model: str
    cached: bool = False
    created_at: datetime


class SummaryRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    length: Literal["short", "medium", "long"] = "medium"
    method: Literal["extractive", "abstractive"] = "extractive"


class KeyPointOut(BaseModel):
    text: str
    sources: list[SourceOut]


class SummaryOut(BaseModel):
    document_id: str
    summary: str
    key_points: list[KeyPointOut]
    method: Literal["extractive", "abstractive"]
    model: str
    # Abstractive: sentences of the model's summary nothing in the document supports, left out.
    unsupported_sentences: int = 0
    cached: bool = False
    created_at: datetime


MAX_GRID_DOCUMENTS = 200


class ContractGridRequest(BaseModel):
    """The contracts of a matter, or chosen documents (or both: the chosen ones of the
    matter), and optionally only some clause categories (CUAD names)."""

    model_config = ConfigDict(extra="forbid")

    matter_id: str | None = Field(default=None, max_length=36)
    document_ids: list[Annotated[str, Field(max_length=36)]] | None = Field(
        default=None, min_length=1, max_length=MAX_GRID_DOCUMENTS
    )
    categories: list[Annotated[str, Field(max_length=100)]] | None = Field(
        default=None, min_length=1, max_length=100
    )


class GridRowOut(BaseModel):
    document_id: str
    title: str
    status: str  # the document's; clauses only for indexed ones
    clauses: list[ClauseOut]
    # Set when this document's analysis runs as a job (a long document, or model calls
    # beyond the inline limit): its clauses come with the grid asked for once it is done.
    job_id: str | None = None


class JobAccepted(BaseModel):
    """202: the work runs as a job. Follow it at `GET /jobs/{job_id}` or on the WebSocket
    (`job.progress`); once it has succeeded the analysis is at `GET /documents/{id}/analysis`
    and asking again answers from the stored result."""

    job_id: str
    document_id: str
    operation: Literal["analysis", "summary", "questions"]
    status: str


class ContractGridOut(BaseModel):
    categories: list[str]
    documents: list[GridRowOut]


class QuestionsRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    count: int = Field(default=10, ge=1, le=50)
    difficulty: Literal["easy", "medium", "hard"] | None = None


class QuestionOut(BaseModel):
    question: str
    answer: str
    difficulty: Literal["easy", "medium", "hard"]
    sources: list[SourceOut]


class QuestionsOut(BaseModel):
    document_id: str
    questions: list[QuestionOut]
    model: str
