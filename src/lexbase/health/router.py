"""Public health endpoints (outside `/api/v1`, as load balancers expect) and `/metrics`."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from lexbase import __version__
from lexbase.auth.deps import Operator
from lexbase.core.deps import ResourcesDep
from lexbase.core.metrics import CONTENT_TYPE_LATEST
from lexbase.health.deps import metrics_scraper
from lexbase.health.schemas import (
    DetailedHealthOut,
    HealthStatus,
    LivenessOut,
    ReadinessOut,
)
from lexbase.health.service import detailed, readiness, run_checks, scrape_gauges
from lexbase.search.deps import SearchStateDep

router = APIRouter(tags=["health"])
# Mounted under /api/v1: the detailed view is for the organization's admins only.
operations_router = APIRouter(prefix="/health", tags=["health"])


@router.get("/health", response_model=HealthStatus)
async def health(resources: ResourcesDep) -> HealthStatus:
    checks = await run_checks(resources)
    status = "ok" if all(check.ok for check in checks) else "degraded"
    return HealthStatus(status=status, version=__version__)


@router.get("/health/live", response_model=LivenessOut)
async def live() -> LivenessOut:
    return LivenessOut(status="alive")


@router.get(
    "/health/ready",
    response_model=ReadinessOut,
    responses={
        503: {"model": ReadinessOut, "description": "A dependency is down, or a model warming"}
    },
)
async def ready(resources: ResourcesDep, search: SearchStateDep) -> JSONResponse:
    body = readiness(await run_checks(resources), {"embedder": search.embedder.state})
    return JSONResponse(body.model_dump(), status_code=200 if body.status == "ready" else 503)


@router.get("/metrics", include_in_schema=False, dependencies=[Depends(metrics_scraper)])
async def metrics(request: Request, resources: ResourcesDep) -> Response:
    body = request.app.state.metrics.render() + await scrape_gauges(resources)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


@operations_router.get("/detailed", response_model=DetailedHealthOut)
async def health_detailed(principal: Operator, resources: ResourcesDep) -> DetailedHealthOut:
    return await detailed(resources, principal)
