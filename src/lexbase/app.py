"""The application factory. The lifespan owns every resource the app uses."""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.gzip import GZipMiddleware
from sqlalchemy.exc import SQLAlchemyError

from lexbase import __version__
from lexbase.analytics.router import router as analytics_router
from lexbase.analytics.tasks import run_rollups
from lexbase.apikeys.router import router as apikeys_router
from lexbase.audit.reads import ReadAudit
from lexbase.audit.router import router as audit_router
from lexbase.auth.identity import CredentialOwners
from lexbase.auth.router import router as auth_router
from lexbase.chat.deps import ChatState
from lexbase.chat.router import router as chat_router
from lexbase.core import sentry, tracing
from lexbase.core.config import Settings, load_settings
from lexbase.core.errors import install_error_handlers
from lexbase.core.metrics import Metrics
from lexbase.core.middleware import (
    BodyDeadlines,
    BodySizeLimitMiddleware,
    RequestContextMiddleware,
)
from lexbase.core.ratelimit import RateLimitMiddleware, RateLimitPolicy
from lexbase.core.resources import Resources
from lexbase.documents.blobs import run_sweeper
from lexbase.documents.router import router as documents_router
from lexbase.health.router import operations_router
from lexbase.health.router import router as health_router
from lexbase.intelligence.deps import IntelligenceState, asks_model_fields
from lexbase.intelligence.router import router as intelligence_router
from lexbase.jobs.dispatch import start_dispatcher
from lexbase.jobs.registry import TaskRegistry
from lexbase.jobs.router import router as jobs_router
from lexbase.jobs.runner import JobRunner
from lexbase.matters.router import router as matters_router
from lexbase.organizations.router import router as organizations_router
from lexbase.providers.llm import traces as llm_traces
from lexbase.providers.resources import open_resources
from lexbase.realtime.connections import ConnectionLimits
from lexbase.realtime.router import router as realtime_router
from lexbase.search.deps import SearchState
from lexbase.search.router import router as search_router
from lexbase.tasks import task_registry
from lexbase.users.router import router as users_router
from lexbase.workflows.router import router as workflows_router

log = structlog.get_logger(__name__)

API_PREFIX = "/api/v1"

# Each domain contributes one router; adding a domain is one line here. Their prefixes are
# distinct, so order changes no route; routes are matched one by one, in this order, so the
# most requested come first (documents, search, chat, jobs).
DOMAIN_ROUTERS: tuple[APIRouter, ...] = (
    documents_router,
    search_router,
    chat_router,
    jobs_router,
    intelligence_router,
    auth_router,
    matters_router,
    workflows_router,
    realtime_router,
    organizations_router,
    users_router,
    apikeys_router,
    audit_router,
    operations_router,
    analytics_router,
)


def create_app(settings: Settings | None = None, tasks: TaskRegistry | None = None) -> FastAPI:
    """`tasks`: the job types this process runs (by default every one, `lexbase.tasks`)."""
    settings = settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        resources = open_resources(settings)
        app.state.resources = resources
        app.state.credential_owners = CredentialOwners(settings, resources.sessionmaker)
        app.state.search = SearchState.create(settings)
        app.state.chat = ChatState.open(settings)
        app.state.intelligence = IntelligenceState(
            app.state.chat.llm, model_fields=asks_model_fields(settings)
        )
        registry = tasks or task_registry(app.state.intelligence, app.state.search)
        runner = await start_embedded_runner(resources, registry)
        dispatcher = await start_dispatcher(resources)
        warm = asyncio.create_task(
            warm_up(resources, app.state.search, registry if runner is not None else None)
        )
        app.state.warm_up = warm  # done once search and the worker processes are ready
        sweeper = asyncio.create_task(run_sweeper(resources), name="blob-sweeper")
        rollups = asyncio.create_task(run_rollups(resources), name="usage-rollups")
        app.state.read_audit = ReadAudit(
            resources.write_sessionmaker, flush_seconds=settings.audit_reads_flush_seconds
        )
        app.state.read_audit.start()
        log.info("app.started", env=settings.env.value, version=__version__)
        try:
            yield
        finally:
            sweeper.cancel()
            rollups.cancel()
            await asyncio.gather(sweeper, rollups, return_exceptions=True)
            await app.state.read_audit.close()
            await app.state.chat.close()
            await app.state.search.embedder.close()
            await asyncio.gather(warm, return_exceptions=True)
            if dispatcher is not None:
                await dispatcher.stop()
            if runner is not None:
                await runner.stop()
            await resources.close()
            log.info("app.stopped")

    docs_enabled = not settings.is_production
    app = FastAPI(
        title="Lexbase",
        version=__version__,
        description="Multi-tenant legal document AI service.",
        lifespan=lifespan,
        openapi_url=f"{API_PREFIX}/openapi.json" if docs_enabled else None,
        docs_url=f"{API_PREFIX}/docs" if docs_enabled else None,
        redoc_url=f"{API_PREFIX}/redoc" if docs_enabled else None,
    )
    app.state.settings = settings
    app.state.metrics = Metrics()
    tracing.configure(settings)
    tracing.instrument_app(app)
    sentry.configure(settings)
    llm_traces.configure(settings)
    app.state.ws_connections = ConnectionLimits(
        settings.ws_max_per_user, settings.ws_max_per_address
    )

    install_error_handlers(app)
    app.include_router(health_router)
    api = APIRouter(prefix=API_PREFIX)
    for router in DOMAIN_ROUTERS:
        api.include_router(router)
    app.include_router(api)

    # Added innermost first: the request context wraps everything, so every response
    # (429s and 413s included) carries the request id and is counted.
    app.add_middleware(GZipMiddleware, minimum_size=1024)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_credentials=True,
            allow_methods=["GET", "POST", "PATCH", "PUT", "DELETE", "OPTIONS"],
            allow_headers=[
                "Authorization",
                "Content-Type",
                "X-API-Key",
                "X-Request-ID",
                "Idempotency-Key",
            ],
            expose_headers=[
                "X-Request-ID",
                "X-RateLimit-Limit",
                "X-RateLimit-Remaining",
                "X-RateLimit-Reset",
                "Retry-After",
            ],
        )
    if settings.rate_limit_enabled:
        app.add_middleware(
            RateLimitMiddleware,
            storage=lambda: _resources(app).rate_limit_storage,
            policy=RateLimitPolicy(settings),
            trusted_proxies=settings.trusted_proxies,
            identify=lambda scope: _credential_owners(app)(scope),
        )
    app.add_middleware(
        BodySizeLimitMiddleware,
        max_bytes=settings.max_request_bytes,
        deadlines=BodyDeadlines(
            idle_seconds=settings.request_body_idle_seconds,
            grace_seconds=settings.request_body_grace_seconds,
            min_bytes_per_second=settings.request_body_min_bytes_per_second,
        ),
    )
    app.add_middleware(
        RequestContextMiddleware, metrics=app.state.metrics, hsts=settings.is_production
    )
    return app


async def prepare_search(resources: Resources, search: SearchState) -> None:
    """Make and load the query embedder and make sure its vector index exists, off the
    request path (until then readiness says `warming`). Failures are logged, not fatal."""
    embedder = await search.embedder.wait()
    if embedder is None:
        return  # logged by the handle; search answers 503 and tries again later
    try:
        await search.index.prepare_vectors(resources.engine, embedder.name, embedder.dimensions)
    except (OSError, SQLAlchemyError, ValueError) as exc:
        log.warning("search.prepare_failed", error_type=type(exc).__name__, error=str(exc))


async def warm_up(resources: Resources, search: SearchState, tasks: TaskRegistry | None) -> None:
    """Off the request path at startup: search's embedder, then (embedded runner: `tasks`)
    what the job handlers load before their first job — the worker processes with the
    pipeline and embedder. Failures are logged, not fatal."""
    await prepare_search(resources, search)
    if tasks is not None and resources.settings.worker_warm_up:
        await tasks.warm(resources)


async def start_embedded_runner(resources: Resources, tasks: TaskRegistry) -> JobRunner | None:
    """In-process workers for the embedded mode (`LEXBASE_EMBEDDED_WORKERS=0` turns them off;
    with `LEXBASE_JOB_BACKEND=celery` the `lexbase worker` processes run jobs instead)."""
    workers = resources.settings.embedded_workers
    if workers == 0 or resources.settings.job_backend == "celery":
        return None
    # The stage libraries take about a second to import; load them off the event loop now
    # rather than stall requests when the first job arrives.
    await asyncio.to_thread(importlib.import_module, "lexbase.ingest.pipeline")
    runner = JobRunner(resources, workers, tasks)
    resources.notify_jobs = runner.notify
    await runner.start()
    return runner


def _credential_owners(app: FastAPI) -> CredentialOwners:
    owners: CredentialOwners = app.state.credential_owners
    return owners


def _resources(app: FastAPI) -> Resources:
    resources: Resources = app.state.resources
    return resources
