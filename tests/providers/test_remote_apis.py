"""The `anthropic` and `gemini` providers through their official SDKs, pointed at a local HTTP
server that replays the real APIs' recorded response shapes (`recorded/`: plain answers,
streamed event formats, error bodies) and keeps every request it was sent.

These two paid APIs cannot be reached from here, so this is the only place where recorded
payloads stand in for a service. Each test reads what the provider sent as well as what it
made of the answer; faults (429 with Retry-After, 529/503 overload, 400, a hung response)
go through the fallback chain as they would in production.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator

import pytest

from lexbase.providers.llm import (
    AllProvidersFailed,
    ChatMessage,
    Completion,
    LLMChain,
    LLMError,
    Privacy,
    RetryPolicy,
    TransientLLMError,
)
from lexbase.providers.llm.anthropic_api import AnthropicLLM
from lexbase.providers.llm.gemini_api import GeminiLLM
from tests.support.replay import Replay, replay_server

ANSWER = "The agreement renews for one-year terms [1]."
QUESTION = [
    ChatMessage("system", "Answer from the sources only."),
    ChatMessage("user", "Sources: [1] The term renews for successive one-year terms."),
    ChatMessage("assistant", "Understood."),
    ChatMessage("user", "How long are renewal terms?"),
]


@pytest.fixture
async def replay() -> AsyncIterator[tuple[Replay, str]]:
    async with replay_server() as server:
        yield server


def anthropic(base: str, timeout: float = 30.0) -> AnthropicLLM:
    return AnthropicLLM(
        base_url=base,
        api_key="sk-ant-test",
        model="claude-sonnet-5",
        context_window=200_000,
        timeout=timeout,
    )


def gemini(base: str, timeout: float = 30.0) -> GeminiLLM:
    return GeminiLLM(
        base_url=base,
        api_key="gemini-test-key",
        model="gemini-2.5-flash",
        context_window=1_000_000,
        timeout=timeout,
    )


async def collect(stream: AsyncIterator[str | Completion]) -> tuple[list[str], Completion]:
    pieces: list[str] = []
    async for piece in stream:
        if isinstance(piece, Completion):
            return pieces, piece
        pieces.append(piece)
    raise AssertionError("the stream ended without a completion")


# --- Anthropic ------------------------------------------------------------------------


async def test_anthropic_answers_and_reports_usage(replay: tuple[Replay, str]) -> None:
    server, base = replay
    model = anthropic(base)
    try:
        completion = await model.complete(QUESTION, max_tokens=64, stop=["\n\n"])
    finally:
        await model.close()
    assert completion.text == ANSWER
    assert (completion.provider, completion.model) == ("anthropic", "claude-sonnet-5")
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (412, 14)
    assert completion.finish_reason == "stop"
    path, headers, body = server.requests[0]
    assert path == "/v1/messages" and headers["authorization"] == "Bearer sk-ant-test"
    assert body["system"] == "Answer from the sources only."  # its own parameter here
    assert [m["role"] for m in body["messages"]] == ["user", "assistant", "user"]
    assert body["messages"][-1]["content"] == "How long are renewal terms?"
    assert (body["model"], body["max_tokens"], body["stop_sequences"]) == (
        "claude-sonnet-5",
        64,
        ["\n\n"],
    )


async def test_anthropic_streams_its_event_format(replay: tuple[Replay, str]) -> None:
    server, base = replay
    model = anthropic(base)
    try:
        pieces, final = await collect(model.stream(QUESTION, max_tokens=64))
    finally:
        await model.close()
    assert pieces == ["The agreement renews", " for one-year terms [1]."]
    assert final.text == ANSWER and final.finish_reason == "stop"
    assert (final.usage.prompt_tokens, final.usage.completion_tokens) == (412, 14)
    assert server.requests[0][2]["stream"] is True


async def test_anthropic_rate_limit_waits_and_overload_falls_back_to_gemini(
    replay: tuple[Replay, str],
) -> None:
    server, base = replay
    server.plan = ["429"]
    chain = LLMChain([anthropic(base), gemini(base)], RetryPolicy(retries=1, base_seconds=0.01))
    started = time.monotonic()
    try:
        first = await chain.complete(QUESTION, max_tokens=32)
        waited = time.monotonic() - started
        server.plan = ["529", "529"]  # overloaded, and again on the retry
        second = await chain.complete(QUESTION, max_tokens=32)
    finally:
        await chain.close()
    assert first.provider == "anthropic" and waited >= 1.0  # the Retry-After it asked for
    assert second.provider == "gemini" and second.text == ANSWER
    assert [p for p, _, _ in server.requests] == [
        "/v1/messages",
        "/v1/messages",
        "/v1/messages",
        "/v1/messages",
        "/v1/models/gemini-2.5-flash:generateContent",
    ]


async def test_anthropic_bad_request_is_not_retried(replay: tuple[Replay, str]) -> None:
    server, base = replay
    server.plan = ["400"]
    model = anthropic(base)
    try:
        with pytest.raises(LLMError) as failure:
            await model.complete(QUESTION, max_tokens=32)
    finally:
        await model.close()
    assert not isinstance(failure.value, TransientLLMError)
    assert str(failure.value) == "HTTP 400"


# --- Gemini ---------------------------------------------------------------------------


async def test_gemini_answers_and_reports_usage(replay: tuple[Replay, str]) -> None:
    server, base = replay
    model = gemini(base)
    try:
        completion = await model.complete(QUESTION, max_tokens=64, stop=["\n\n"])
    finally:
        await model.close()
    assert completion.text == ANSWER
    assert (completion.provider, completion.model) == ("gemini", "gemini-2.5-flash")
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (398, 12)
    assert completion.finish_reason == "stop"
    path, headers, body = server.requests[0]
    assert path == "/v1/models/gemini-2.5-flash:generateContent"
    assert headers["x-goog-api-key"] == "gemini-test-key"
    assert body["systemInstruction"]["parts"][0]["text"] == "Answer from the sources only."
    assert [c["role"] for c in body["contents"]] == ["user", "model", "user"]
    assert body["generationConfig"]["maxOutputTokens"] == 64
    assert body["generationConfig"]["stopSequences"] == ["\n\n"]


async def test_gemini_streams_its_event_format(replay: tuple[Replay, str]) -> None:
    server, base = replay
    model = gemini(base)
    try:
        pieces, final = await collect(model.stream(QUESTION, max_tokens=64))
    finally:
        await model.close()
    assert pieces == ["The agreement renews", " for one-year terms [1]."]
    assert final.text == ANSWER and final.finish_reason == "stop"
    assert (final.usage.prompt_tokens, final.usage.completion_tokens) == (398, 12)
    assert server.requests[0][0].endswith(":streamGenerateContent")


async def test_gemini_faults_are_sorted(replay: tuple[Replay, str]) -> None:
    server, base = replay
    model = gemini(base)
    try:
        server.plan = ["503"]
        with pytest.raises(TransientLLMError):
            await model.complete(QUESTION, max_tokens=32)
        server.plan = ["429"]
        with pytest.raises(TransientLLMError) as limited:
            await model.complete(QUESTION, max_tokens=32)
        server.plan = ["400"]
        with pytest.raises(LLMError) as refused:
            await model.complete(QUESTION, max_tokens=32)
    finally:
        await model.close()
    assert limited.value.retry_after == 1.0
    assert not isinstance(refused.value, TransientLLMError)
    assert len(server.requests) == 3  # the client itself retries nothing


async def test_a_hung_provider_times_out_and_nothing_answers(replay: tuple[Replay, str]) -> None:
    server, base = replay
    server.plan = ["hang", "hang"]
    chain = LLMChain([anthropic(base, timeout=1), gemini(base, timeout=1)], RetryPolicy(retries=0))
    started = time.monotonic()
    try:
        with pytest.raises(AllProvidersFailed):
            await chain.complete(QUESTION, max_tokens=32)
    finally:
        await chain.close()
    assert time.monotonic() - started < 10


# --- personal data --------------------------------------------------------------------

PERSONAL = [
    ChatMessage("system", "Answer from the sources only."),
    ChatMessage(
        "user",
        "Sources: [1] Notices go to jane.roe@example.com; the employee's SSN is 212-55-4321.\n"
        "Where do notices go?",
    ),
]


@pytest.mark.parametrize("provider", ["anthropic", "gemini"])
async def test_personal_data_never_reaches_an_external_provider(
    replay: tuple[Replay, str], provider: str
) -> None:
    server, base = replay
    server.answer = "Notices go to [EMAIL_1] [1]; the SSN on file is [SSN_1]."
    model = anthropic(base) if provider == "anthropic" else gemini(base)
    chain = LLMChain([model], RetryPolicy(retries=0))
    try:
        plain = await chain.complete(PERSONAL, max_tokens=64, privacy=Privacy("external"))
        pieces, streamed = await collect(
            chain.stream(PERSONAL, max_tokens=64, privacy=Privacy("external"))
        )
    finally:
        await chain.close()
    expected = "Notices go to jane.roe@example.com [1]; the SSN on file is 212-55-4321."
    assert plain.text == expected
    assert "".join(pieces) == expected and streamed.text == expected
    for _, _, body in server.requests:
        sent = json.dumps(body)
        assert "jane.roe@example.com" not in sent and "212-55-4321" not in sent
        assert "[EMAIL_1]" in sent and "[SSN_1]" in sent
