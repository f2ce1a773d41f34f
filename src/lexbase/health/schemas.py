from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class HealthStatus(BaseModel):
    status: Literal["ok", "degraded"]
    version: str


class CheckOut(BaseModel):
    status: Literal["ok", "down"]
    latency_ms: float
    error: str | None = None


ModelState = Literal["building", "loading", "ready", "failed"]
# "warming": the dependencies answer, but a model is still being made or loaded.
ReadinessStatus = Literal["ready", "not_ready", "warming"]


class ReadinessOut(BaseModel):
    status: ReadinessStatus
    checks: dict[str, CheckOut]
    models: dict[str, ModelState] = Field(default_factory=dict)


class LivenessOut(BaseModel):
    status: Literal["alive"]


class DiskOut(BaseModel):
    path: str
    total_bytes: int
    free_bytes: int
    used_ratio: float


class QueueOut(BaseModel):
    backend: str
    depth: int  # the caller's organization's queued and running jobs
    # Seconds the caller's organization's longest-waiting due job has waited (0: none waits).
    oldest_age_seconds: float
    # Job workers: the in-process ones (embedded), or the `lexbase worker` processes alive now
    # (celery; None when there is no Redis to count them in).
    workers: int | None
    server_depth: int | None = None  # every organization's (operators only)


class DetailedHealthOut(BaseModel):
    # "organization": what a firm's admin may see; "server": an operator's view, with the
    # server's paths, disk and every firm's queue.
    view: Literal["organization", "server"]
    status: Literal["ok", "degraded"]
    version: str
    environment: str
    uptime_seconds: float
    database: str
    checks: dict[str, CheckOut]
    disk: DiskOut | None
    queue: QueueOut
