"""Anthropic's Messages API through the official `anthropic` client. Retries are the caller's
(providers/llm/chain.py), so the client makes none; failures are sorted into transient and
permanent ones as for the other remote providers. A JSON schema is sent as the API's
structured-output format (`output_config.format`), so the answer's text is JSON of that shape.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

import anthropic

from lexbase.core import tracing
from lexbase.providers.llm.base import (
    ChatMessage,
    Completion,
    LLMError,
    TransientLLMError,
    Usage,
)
from lexbase.providers.llm.remote import RemoteLLM, retry_after, status_error


class AnthropicLLM(RemoteLLM):
    name = "anthropic"

    def __init__(
        self,
        *,
        base_url: str | None,
        api_key: str,
        model: str,
        context_window: int,
        timeout: float,
    ) -> None:
        super().__init__(model, context_window)
        self.client = anthropic.AsyncAnthropic(
            base_url=base_url, api_key=api_key, timeout=timeout, max_retries=0
        )

    async def complete(
        self,
        messages: Sequence[ChatMessage],
        *,
        max_tokens: int,
        temperature: float = 0.0,
        stop: Sequence[str] = (),
        schema: Mapping[str, Any] | None = None,
    ) -> Completion:
        request = _request(self.model, messages, max_tokens, temperature, stop)
        if schema is not None:
            request["output_config"] = {"format": {"type": "json_schema", "schema": dict(schema)}}
        try:
            response = await self.client.messages.create(**request)
        except anthropic.AnthropicError as exc:
            raise _translated(exc) from exc
        text = "".join(block.text for block in response.content if block.type == "text")
        usage = Usage(response.usage.input_tokens, response.usage.output_tokens)
        return Completion(text, self.name, response.model, usage, _reason(response.stop_reason))

    async def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        max_tokens: int,
        temperature: float = 0.0,
        stop: Sequence[str] = (),
    ) -> AsyncIterator[str | Completion]:
        request = _request(self.model, messages, max_tokens, temperature, stop)
        try:
            async with self.client.messages.stream(**request) as events:
                async for piece in events.text_stream:
                    if piece:
                        yield piece
                final = await events.get_final_message()
        except anthropic.AnthropicError as exc:
            raise _translated(exc) from exc
        text = "".join(block.text for block in final.content if block.type == "text")
        usage = Usage(final.usage.input_tokens, final.usage.output_tokens)
        yield Completion(text, self.name, final.model, usage, _reason(final.stop_reason))

    async def close(self) -> None:
        await self.client.close()


def _request(
    model: str,
    messages: Sequence[ChatMessage],
    max_tokens: int,
    temperature: float,
    stop: Sequence[str],
) -> dict[str, Any]:
    """The system prompt is a parameter of its own in this API, not a message. The Messages
    API of this client's version takes no sampling temperature: `temperature` is not sent."""
    system = "\n\n".join(m.content for m in messages if m.role == "system")
    request: dict[str, Any] = {
        "model": model,
        "max_tokens": max_tokens,
        "messages": [
            {"role": m.role, "content": m.content} for m in messages if m.role != "system"
        ],
    }
    if system:
        request["system"] = system
    if stop:
        request["stop_sequences"] = list(stop)
    if headers := tracing.propagation_headers():
        request["extra_headers"] = headers  # the endpoint may continue the trace
    return request


def _reason(stop_reason: str | None) -> str | None:
    """This API's stop reasons in the words the other providers use."""
    return {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length"}.get(
        stop_reason or "", stop_reason
    )


def _translated(exc: anthropic.AnthropicError) -> LLMError:
    if isinstance(exc, anthropic.APITimeoutError | anthropic.APIConnectionError):
        return TransientLLMError(type(exc).__name__)
    if isinstance(exc, anthropic.APIStatusError):
        return status_error(exc.status_code, retry_after(exc.response.headers))
    return TransientLLMError(type(exc).__name__)
