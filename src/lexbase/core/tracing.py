"""OpenTelemetry tracing, off unless `LEXBASE_OTEL_EXPORTER_ENDPOINT` is set.

One tracer provider per process, made by `configure` (the app's lifespan, each `lexbase
worker` before its pool forks). What it traces:
- HTTP requests (FastAPI, per app: `instrument_app`), SQL statements (per engine:
  `instrument_engine`) and Celery's publishing and task runs;
- a job run (`jobs/execution.py`) as a child of the request that queued it: the request's
  context is kept on the job row (`traceparent`, W3C format) whichever process runs it;
- each model call (`providers/llm/chain.py`), under whatever span is current — so one trace
  goes from the request through its job to the model call. The hosted providers' SDKs speak
  HTTP through `httpx2`, which no OpenTelemetry package instruments: the model call's span
  stands for that request, and its context is sent to the endpoint in `traceparent`.

While tracing is off, `tracer()` is OpenTelemetry's no-op tracer and nothing is instrumented.
"""

from __future__ import annotations

from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import metrics as otel_metrics
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import ASGIApp

from lexbase import __version__
from lexbase.core.config import Settings

_PROPAGATOR = TraceContextTextMapPropagator()
# Health probes and scrapes would be most spans and tell nothing.
_UNTRACED_URLS = "health,metrics"

_provider: TracerProvider | None = None


def configure(settings: Settings, exporter: SpanExporter | None = None) -> TracerProvider | None:
    """Turn tracing on for this process when an endpoint is set (spans batched to it over
    OTLP/HTTP) or an `exporter` is given (spans handed to it as they end: tests). Called again,
    it keeps the provider it made and adds the exporter. None: tracing stays off."""
    global _provider
    endpoint = settings.otel_exporter_endpoint
    if exporter is None and not endpoint:
        return _provider
    if _provider is None:
        _provider = TracerProvider(
            resource=Resource.create(
                {"service.name": settings.otel_service_name, "service.version": __version__}
            ),
            sampler=ParentBased(TraceIdRatioBased(settings.otel_sample_ratio)),
        )
        _instrument_libraries(_provider)
    if exporter is not None:
        _provider.add_span_processor(SimpleSpanProcessor(exporter))
    elif endpoint:
        traces = endpoint.rstrip("/") + "/v1/traces"
        _provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=traces)))
    return _provider


def shutdown() -> None:
    """Flush and stop this process's tracing (what is instrumented from now on is not)."""
    global _provider
    provider, _provider = _provider, None
    if provider is None:
        return
    from opentelemetry.instrumentation.celery import CeleryInstrumentor

    CeleryInstrumentor().uninstrument()  # type: ignore[no-untyped-call]
    provider.shutdown()


def _instrument_libraries(provider: TracerProvider) -> None:
    # Imported here: they cost import time, and nothing when tracing is off.
    from opentelemetry.instrumentation.celery import CeleryInstrumentor

    CeleryInstrumentor().instrument(tracer_provider=provider)  # type: ignore[no-untyped-call]


def tracer() -> trace.Tracer:
    if _provider is None:
        return trace.NoOpTracer()
    return _provider.get_tracer("lexbase", __version__)


def instrument_app(app: ASGIApp) -> None:
    if _provider is None:
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(
        app,  # type: ignore[arg-type]
        tracer_provider=_provider,
        excluded_urls=_UNTRACED_URLS,
        exclude_spans=["receive", "send"],
    )


def instrument_engine(engine: AsyncEngine) -> None:
    """Trace `engine`'s statements (per engine: the library's global hook would miss engines
    made by a `create_async_engine` imported before tracing was configured)."""
    if _provider is None:
        return
    from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer

    connections = otel_metrics.NoOpMeter("lexbase").create_up_down_counter("connections")
    EngineTracer(tracer(), engine.sync_engine, connections)  # type: ignore[no-untyped-call]


def propagation_headers() -> dict[str, str]:
    """W3C trace-context headers naming the current span, for an outgoing request (empty when
    nothing is traced)."""
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    return carrier


def current_traceparent() -> str | None:
    """The current span's context in W3C `traceparent` form (None when nothing is traced)."""
    return propagation_headers().get("traceparent")


def context_of(traceparent: str | None) -> otel_context.Context | None:
    """The context a stored `traceparent` names, for a span that continues its trace."""
    if not traceparent:
        return None
    return _PROPAGATOR.extract({"traceparent": traceparent})


def set_attributes(span: trace.Span, **attributes: Any) -> None:
    span.set_attributes({k: v for k, v in attributes.items() if v is not None})
