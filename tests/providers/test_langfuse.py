"""Model calls traced to Langfuse through its SDK, against a local server that records what the
SDK sends (OTLP over HTTP, as Langfuse's /api/public/otel endpoint receives it): one generation
per attempt with model, parameters, usage and outcome, the prompt and the answer with personal
data replaced as for an external model — whichever provider answered — and nothing of them
when content capture is off or Langfuse is not configured."""

from __future__ import annotations

import asyncio
import base64
import gzip
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from lexbase.providers.llm import ChatMessage, LLMChain, Privacy, RetryPolicy
from lexbase.providers.llm import traces as llm_traces
from tests.conftest import SettingsFactory
from tests.providers.test_remote_apis import anthropic, collect, gemini
from tests.support.replay import Replay, replay_server
from tests.support.serve import on_loopback

# No database is involved: one backend is enough.
pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)

PUBLIC_KEY = "pk-lf-test"
SECRET_KEY = "sk-lf-test"
SECRETS = ("jane.roe@example.com", "212-55-4321", "Jane Roe")
PROMPT = [
    ChatMessage("system", "Answer from the sources only."),
    ChatMessage(
        "user",
        "Sources: [1] Jane Roe (SSN 212-55-4321) takes notices at jane.roe@example.com.\n\n"
        "Where does Jane Roe take notices?",
    ),
]


@dataclass
class Received:
    """What the SDK sent: each export's spans (attributes decoded) and its auth header."""

    spans: list[dict[str, Any]] = field(default_factory=list)
    authorizations: set[str] = field(default_factory=set)
    bodies: list[bytes] = field(default_factory=list)

    def generations(self) -> list[dict[str, Any]]:
        kind = "langfuse.observation.type"
        return [s for s in self.spans if s["attributes"].get(kind) == "generation"]


def _value(value: Any) -> Any:
    kind = value.WhichOneof("value")
    return getattr(value, kind) if kind else None


@asynccontextmanager
async def recorder() -> AsyncIterator[tuple[Received, str]]:
    received = Received()

    async def traces(request: Request) -> Response:
        body = await request.body()
        if request.headers.get("content-encoding") == "gzip":
            body = gzip.decompress(body)
        received.bodies.append(body)
        received.authorizations.add(request.headers.get("authorization", ""))
        export = ExportTraceServiceRequest.FromString(body)
        for resource in export.resource_spans:
            for scope in resource.scope_spans:
                for span in scope.spans:
                    received.spans.append(
                        {
                            "name": span.name,
                            "trace_id": span.trace_id.hex(),
                            "attributes": {a.key: _value(a.value) for a in span.attributes},
                        }
                    )
        return Response(b"", media_type="application/x-protobuf")

    app = Starlette(routes=[Route("/api/public/otel/v1/traces", traces, methods=["POST"])])
    async with on_loopback(app) as port:
        yield received, f"http://127.0.0.1:{port}"


@pytest.fixture
async def replay() -> AsyncIterator[tuple[Replay, str]]:
    async with replay_server() as server:
        yield server


@pytest.fixture
def langfuse_off() -> Iterator[None]:
    llm_traces.shutdown()
    yield
    llm_traces.shutdown()


async def traced_calls(
    make_settings: SettingsFactory,
    replay: tuple[Replay, str],
    privacy: Privacy,
    **settings: Any,
) -> tuple[Received, Replay]:
    """A completion and a stream through Anthropic, then a call whose first provider fails
    permanently and whose second answers; what Langfuse received of them."""
    server, base = replay
    server.answer = "Notices go to jane.roe@example.com [1]."
    async with recorder() as (received, host):
        configured = llm_traces.configure(
            make_settings(
                langfuse_host=host,
                langfuse_public_key=PUBLIC_KEY,
                langfuse_secret_key=SECRET_KEY,
                **settings,
            )
        )
        assert configured
        chain = LLMChain([anthropic(base)], RetryPolicy(retries=0))
        try:
            await chain.complete(PROMPT, max_tokens=64, privacy=privacy)
            await collect(chain.stream(PROMPT, max_tokens=64, privacy=privacy))
        finally:
            await chain.close()
        server.plan = ["400"]  # a bad request: the first provider fails, the next answers
        chain = LLMChain([anthropic(base), gemini(base)], RetryPolicy(retries=0))
        try:
            await chain.complete(PROMPT, max_tokens=32, privacy=privacy)
        finally:
            await chain.close()
        await asyncio.to_thread(llm_traces.shutdown)  # flushes (blocking: the server runs here)
    return received, server


async def test_each_model_call_is_a_generation_with_personal_data_replaced(
    make_settings: SettingsFactory, replay: tuple[Replay, str], langfuse_off: None
) -> None:
    received, _ = await traced_calls(
        make_settings, replay, Privacy("external", names=("Jane Roe",))
    )
    expected = "Basic " + base64.b64encode(f"{PUBLIC_KEY}:{SECRET_KEY}".encode()).decode()
    assert received.authorizations == {expected}
    generations = received.generations()
    assert [g["name"] for g in generations] == [
        "llm anthropic",
        "llm anthropic",
        "llm anthropic",
        "llm gemini",
    ]
    answered = [g for g in generations if "langfuse.observation.level" not in g["attributes"]]
    assert len(answered) == 3
    for generation in answered:
        attributes = generation["attributes"]
        assert attributes["langfuse.observation.model.name"] in (
            "claude-sonnet-5",
            "gemini-2.5-flash",
        )
        assert json.loads(attributes["langfuse.observation.model.parameters"])["max_tokens"] in (
            64,
            32,
        )
        usage = json.loads(attributes["langfuse.observation.usage_details"])
        assert usage["input"] > 0 and usage["output"] > 0
        prompt = json.loads(attributes["langfuse.observation.input"])
        assert [m["role"] for m in prompt] == ["system", "user"]
        assert "[PARTY_1] (SSN [SSN_1]) takes notices at [EMAIL_1]" in prompt[1]["content"]
        # A text is sent as is, a structure as JSON.
        assert attributes["langfuse.observation.output"] == "Notices go to [EMAIL_1] [1]."
    # The stream's generation knows when its first piece came.
    assert sum("langfuse.observation.completion_start_time" in g["attributes"] for g in answered)
    (failed,) = [g for g in generations if g not in answered]
    assert failed["attributes"]["langfuse.observation.level"] == "ERROR"
    assert failed["attributes"]["langfuse.observation.status_message"] == "LLMError"
    # Nothing personal anywhere in what was sent.
    for body in received.bodies:
        for secret in SECRETS:
            assert secret.encode() not in body, secret


async def test_content_capture_off_sends_no_prompt_or_answer(
    make_settings: SettingsFactory, replay: tuple[Replay, str], langfuse_off: None
) -> None:
    received, _ = await traced_calls(
        make_settings, replay, Privacy("off"), langfuse_capture_content=False
    )
    generations = received.generations()
    assert len(generations) == 4
    for generation in generations:
        assert "langfuse.observation.input" not in generation["attributes"]
        assert "langfuse.observation.output" not in generation["attributes"]
    for body in received.bodies:
        assert b"notices" not in body.lower()


async def test_an_organization_without_redaction_has_its_text_sent_as_is(
    make_settings: SettingsFactory, replay: tuple[Replay, str], langfuse_off: None
) -> None:
    received, server = await traced_calls(make_settings, replay, Privacy("off"))
    first = received.generations()[0]["attributes"]
    assert "jane.roe@example.com" in json.loads(first["langfuse.observation.input"])[1]["content"]
    # As the provider itself received it.
    assert "jane.roe@example.com" in json.dumps(server.requests[0][2])


async def test_nothing_is_sent_unless_configured(
    make_settings: SettingsFactory, replay: tuple[Replay, str], langfuse_off: None
) -> None:
    assert not llm_traces.configure(make_settings())
    with pytest.raises(ValueError, match="LANGFUSE"):
        make_settings(langfuse_host="http://127.0.0.1:9", langfuse_public_key=PUBLIC_KEY)
    async with recorder() as (received, _):
        server, base = replay
        server.answer = "Notices go to the office [1]."
        chain = LLMChain([anthropic(base)], RetryPolicy(retries=0))
        try:
            answer = await chain.complete(PROMPT, max_tokens=16)
        finally:
            await chain.close()
        assert answer.text == "Notices go to the office [1]."
    assert received.spans == []


async def test_an_in_process_model_s_call_is_redacted_on_its_way_to_langfuse(
    make_settings: SettingsFactory, langfuse_off: None
) -> None:
    """The local model gets the text as is (it never leaves the process), Langfuse does not."""
    from tests.providers.test_llm import local_model

    async with recorder() as (received, host):
        llm_traces.configure(
            make_settings(
                langfuse_host=host,
                langfuse_public_key=PUBLIC_KEY,
                langfuse_secret_key=SECRET_KEY,
            )
        )
        chain = LLMChain([local_model()], RetryPolicy(retries=0))
        try:
            answer = await chain.complete(
                PROMPT, max_tokens=24, privacy=Privacy("external", names=("Jane Roe",))
            )
        finally:
            await chain.close()
        await asyncio.to_thread(llm_traces.shutdown)
    (generation,) = received.generations()
    attributes = generation["attributes"]
    assert attributes["langfuse.observation.model.name"] == answer.model
    prompt = json.loads(attributes["langfuse.observation.input"])
    assert "[PARTY_1] (SSN [SSN_1]) takes notices at [EMAIL_1]" in prompt[1]["content"]
    for body in received.bodies:
        for secret in SECRETS:
            assert secret.encode() not in body, secret


async def test_a_generation_joins_the_trace_of_the_service_s_model_call_span(
    make_settings: SettingsFactory, replay: tuple[Replay, str], langfuse_off: None
) -> None:
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from lexbase.core import tracing

    spans = InMemorySpanExporter()
    settings = make_settings(
        langfuse_host="http://127.0.0.1:9",  # replaced below
        langfuse_public_key=PUBLIC_KEY,
        langfuse_secret_key=SECRET_KEY,
    )
    tracing.configure(settings, spans)
    server, base = replay
    server.answer = "Notices go to the office [1]."
    try:
        async with recorder() as (received, host):
            llm_traces.configure(settings.model_copy(update={"langfuse_host": host}))
            chain = LLMChain([anthropic(base)], RetryPolicy(retries=0))
            try:
                with tracing.tracer().start_as_current_span("job ingest"):
                    await chain.complete(PROMPT, max_tokens=16)
            finally:
                await chain.close()
            await asyncio.to_thread(llm_traces.shutdown)
    finally:
        tracing.shutdown()
    (job,) = [s for s in spans.get_finished_spans() if s.name == "job ingest"]
    (generation,) = received.generations()
    assert generation["trace_id"] == f"{job.context.trace_id:032x}"
