from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field


class Period(BaseModel):
    """Whole days, UTC, both included."""

    model_config = ConfigDict(populate_by_name=True)

    from_: date = Field(alias="from")
    to: date


class UsageOut(BaseModel):
    """API.md's fields, plus `model_calls`."""

    searches: int
    chat_messages: int
    documents_uploaded: int
    pages_processed: int
    workflow_runs: int
    model_calls: int
    prompt_tokens: int
    completion_tokens: int
    estimated_cost: float


class UsageReport(Period, UsageOut):
    pass


class TokenDayOut(BaseModel):
    date: date
    model_calls: int
    prompt_tokens: int
    completion_tokens: int
    estimated_cost: float


class TokensReport(Period):
    days: list[TokenDayOut]


class ActivityOut(BaseModel):
    kind: str
    at: datetime
    quantity: int
    document_id: str | None
    conversation_id: str | None
    provider: str | None
    model: str | None
    prompt_tokens: int
    completion_tokens: int
    estimated_cost: float


class ActivityReport(BaseModel):
    items: list[ActivityOut]


class UserUsageOut(UsageOut):
    user_id: str | None  # None: work no user asked for
    email: str | None
    full_name: str | None


class OrganizationReport(Period):
    total: UsageOut
    users: list[UserUsageOut]


class TemplateRunsOut(BaseModel):
    template_id: str
    template_name: str
    runs: int
    completed: int
    failed: int
    cancelled: int
    success_rate: float | None  # of those completed or failed
    mean_duration_seconds: float | None
    estimated_cost: float


class WorkflowsReport(Period):
    templates: list[TemplateRunsOut]
