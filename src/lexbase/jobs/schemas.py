from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict


class JobOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    type: str
    status: Literal["queued", "running", "succeeded", "failed", "cancelled"]
    progress: float
    stage: str | None
    attempts: int
    max_attempts: int
    error: str | None
    error_code: str | None
    result: dict[str, Any] | None
    document_id: str | None
    input_hash: str | None
    pipeline_version: str | None
    provenance: dict[str, Any]
    timings: dict[str, float]
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
