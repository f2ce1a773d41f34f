from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from lexbase.audit.service import ChainFault


class AuditEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    seq: int
    event_type: str
    actor_id: str | None
    actor_type: str
    resource_type: str | None
    resource_id: str | None
    ip: str | None
    request_id: str | None
    details: dict[str, Any]
    created_at: datetime
    prev_hash: str
    hash: str
    organization_id: str | None


class ChainVerificationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    valid: bool
    events_checked: int = Field(description="Events examined, the first invalid one included")
    first_invalid_id: str | None = Field(
        description="The first event that fails; null when valid or when the newest are missing"
    )
    reason: ChainFault | None
    detail: str | None
