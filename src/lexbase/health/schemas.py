from __future__ import annotations

from typing import Literal

from pydantic import BaseModel


class HealthStatus(BaseModel):
    status: Literal["ok", "degraded"]
    version: str


class CheckOut(BaseModel):
    status: Literal["ok", "down"]
    latency_ms: float
    error: str | None = None


class ReadinessOut(BaseModel):
    status: Literal["ready", "not_ready"]
    checks: dict[str, CheckOut]


class LivenessOut(BaseModel):
    status: Literal["alive"]


class DiskOut(BaseModel):
    path: str
    total_bytes: int
    free_bytes: int
    used_ratio: float


class DetailedHealthOut(BaseModel):
    status: Literal["ok", "degraded"]
    version: str
    environment: str
    uptime_seconds: float
    database: str
    checks: dict[str, CheckOut]
    disk: DiskOut
    queue: dict[str, int | str | None]
