from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from lexbase.workflows.definition import Definition


class TemplateOut(BaseModel):
    id: str
    name: str
    description: str
    category: str
    builtin: bool
    definition: Definition


class TemplateCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=4000)
    category: str = Field(min_length=1, max_length=50, pattern=r"^[a-z][a-z0-9_-]*$")
    definition: Definition


class CategoriesOut(BaseModel):
    categories: list[str]


class ExecutionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    template_id: str = Field(min_length=1, max_length=100)
    input: dict[str, Any] = Field(default_factory=dict)


class StepOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    name: str
    type: str
    status: str
    output: Any
    attempts: int
    error: str | None
    review: dict[str, Any] | None
    started_at: datetime | None
    finished_at: datetime | None


class ReportOut(BaseModel):
    title: str
    markdown: str
    citations: list[dict[str, Any]]


class ExecutionOut(BaseModel):
    id: str
    template_id: str
    template_name: str
    status: Literal["queued", "running", "waiting_review", "completed", "failed", "cancelled"]
    progress: float
    input: dict[str, Any]
    matter_id: str | None
    cancel_requested: bool
    error: str | None
    error_code: str | None
    steps: list[StepOut]
    report: ReportOut | None
    created_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class ReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    approve: bool
    comment: str | None = Field(default=None, max_length=4000)
