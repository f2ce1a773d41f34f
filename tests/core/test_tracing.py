"""OpenTelemetry tracing: one trace from a request through the job it queued to the model call
the job made, whose request names it to the provider; SQL statements inside it; no prompt or answer
in any span. Spans are read from an in-memory exporter."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from lexbase.app import create_app
from lexbase.core import tracing
from tests.conftest import SettingsFactory, running
from tests.documents.helpers import upload
from tests.factories import Tenant
from tests.intelligence.test_analysis_api import API, held_out_contracts
from tests.intelligence.test_model_fields import hosted, job_outcome
from tests.support.replay import Replay, replay_server


@pytest.fixture
def exporter(make_settings: SettingsFactory) -> Iterator[InMemorySpanExporter]:
    spans = InMemorySpanExporter()
    tracing.configure(make_settings(), spans)
    try:
        yield spans
    finally:
        tracing.shutdown()


@pytest.fixture
async def replay() -> AsyncIterator[tuple[Replay, str]]:
    async with replay_server() as server:
        yield server


def one(spans: list[ReadableSpan], name: str, **attributes: object) -> ReadableSpan:
    found = [
        s
        for s in spans
        if s.name == name and all((s.attributes or {}).get(k) == v for k, v in attributes.items())
    ]
    assert len(found) == 1, [(s.name, dict(s.attributes or {})) for s in spans if s.name == name]
    return found[0]


def parent_of(span: ReadableSpan) -> int | None:
    return span.parent.span_id if span.parent is not None else None


async def test_a_trace_spans_request_job_and_model_call(
    make_settings: SettingsFactory,
    tenant: Tenant,
    exporter: InMemorySpanExporter,
    replay: tuple[Replay, str],
) -> None:
    server, base = replay
    [(name, data, spans)] = held_out_contracts(1)
    start, end = spans[0]
    answer = " ".join(data.decode()[start:end].split())
    server.answer = answer
    headers = tenant["attorney"].headers
    # A small context window: the summary takes several calls, so it is queued as a job.
    settings = hosted(make_settings, base, llm_anthropic_context_window=1024)
    async with running(create_app(settings)) as c:
        accepted = await upload(c, headers, data, name)
        await job_outcome(c, headers, accepted["job_id"])
        url = f"{API}/documents/{accepted['document']['id']}/summary"
        queued = await c.post(url, json={"method": "abstractive"}, headers=headers)
        assert queued.status_code == 202, queued.text
        done = await job_outcome(c, headers, queued.json()["job_id"])
        assert done["status"] == "succeeded", done
    finished = list(exporter.get_finished_spans())

    route = f"{API}/documents/{{document_id}}/summary"
    request = one(finished, f"POST {route}", **{"http.route": route})
    assert request.kind == SpanKind.SERVER
    trace_id = request.context.trace_id
    job = one(finished, "job analyze_document")
    assert job.context.trace_id == trace_id
    assert parent_of(job) == request.context.span_id  # queued by that request
    assert job.attributes is not None
    assert job.attributes["lexbase.job.id"] == queued.json()["job_id"]
    assert job.attributes["lexbase.job.outcome"] == "succeeded"

    calls = [s for s in finished if s.name == "llm anthropic"]
    assert len(calls) >= 2  # the summary's parts, each a model call under the job
    for call in calls:
        assert call.kind == SpanKind.CLIENT
        assert call.context.trace_id == trace_id
        assert parent_of(call) == job.context.span_id
        assert call.attributes is not None
        assert call.attributes["gen_ai.request.model"]
        assert int(call.attributes["gen_ai.usage.input_tokens"]) > 0  # type: ignore[arg-type]
        assert call.status.status_code != StatusCode.ERROR
    # Each model call's request told the provider its span (W3C traceparent), so a traced
    # endpoint continues the trace.
    sent = [headers.get("traceparent", "")[:52] for _, headers, _ in server.requests]
    names = {f"00-{trace_id:032x}-{c.context.span_id:016x}" for c in calls}
    assert set(sent) == names
    # SQL statements of the request and of the job are in the same trace.
    sql = [s for s in finished if s.attributes and "db.system" in s.attributes]
    sql_parents = {parent_of(s) for s in sql if s.context.trace_id == trace_id}
    assert job.context.span_id in sql_parents
    # The upload's ingest job continues the upload request's trace, not this one.
    upload_request = one(finished, f"POST {API}/documents", **{"http.route": f"{API}/documents"})
    ingest = one(finished, "job ingest_document")
    assert ingest.context.trace_id == upload_request.context.trace_id != trace_id
    # Neither the document's text nor the model's answer is recorded anywhere.
    recorded = " ".join(str(v) for s in finished for v in (s.attributes or {}).values())
    assert answer[:40] not in recorded
    assert data.decode()[start:end][:40] not in recorded


async def test_tracing_is_off_unless_configured(make_settings: SettingsFactory) -> None:
    tracing.shutdown()
    assert tracing.current_traceparent() is None
    with tracing.tracer().start_as_current_span("anything") as span:
        assert not span.get_span_context().is_valid
    async with running(create_app(make_settings())) as c:
        assert (await c.get("/health/live")).status_code == 200
    assert tracing.current_traceparent() is None
