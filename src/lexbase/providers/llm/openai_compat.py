"""Any OpenAI-compatible chat endpoint — OpenAI, vLLM, Ollama, llama.cpp's server, DeepSeek —
through the official `openai` client. Retries are the caller's (providers/llm/chain.py), so
the client makes none of its own; failures are sorted into transient and permanent ones.

A JSON schema is sent as OpenAI's structured-output `response_format` (`json_schema`, strict),
or — for servers that take only that form, such as llama-cpp-python's — as a `json_object`
format carrying the schema (`LEXBASE_LLM_OPENAI_SCHEMA_FORMAT`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, Literal

import openai

from lexbase.core import tracing
from lexbase.providers.llm.base import (
    ChatMessage,
    Completion,
    LLMError,
    TransientLLMError,
    Usage,
)
from lexbase.providers.llm.remote import (
    RemoteLLM,
    estimated_prompt_tokens,
    retry_after,
    status_error,
)


class OpenAICompatibleLLM(RemoteLLM):
    name = "openai"

    def __init__(
        self,
        *,
        base_url: str | None,
        api_key: str,
        model: str,
        context_window: int,
        timeout: float,
        schema_format: Literal["json_schema", "json_object"] = "json_schema",
    ) -> None:
        super().__init__(model, context_window)
        self.schema_format = schema_format
        self.client = openai.AsyncOpenAI(
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
        request = self._request(messages, max_tokens, temperature, stop)
        if schema is not None:
            request["response_format"] = self._response_format(schema)
        try:
            response = await self.client.chat.completions.create(**request)
        except openai.OpenAIError as exc:
            raise _translated(exc) from exc
        if not response.choices:
            raise TransientLLMError("the provider answered without a choice")
        choice = response.choices[0]
        text = choice.message.content or ""
        usage = (
            Usage(response.usage.prompt_tokens, response.usage.completion_tokens)
            if response.usage is not None
            else Usage(estimated_prompt_tokens(messages), self.count_tokens(text))
        )
        return Completion(
            text, self.name, response.model or self.model, usage, choice.finish_reason
        )

    async def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        max_tokens: int,
        temperature: float = 0.0,
        stop: Sequence[str] = (),
    ) -> AsyncIterator[str | Completion]:
        request = self._request(messages, max_tokens, temperature, stop)
        text, reason, usage, model = "", None, None, self.model
        try:
            chunks = await self.client.chat.completions.create(
                **request, stream=True, stream_options={"include_usage": True}
            )
            async with chunks:
                async for chunk in chunks:
                    model = chunk.model or model
                    if chunk.usage is not None:
                        usage = Usage(chunk.usage.prompt_tokens, chunk.usage.completion_tokens)
                    if not chunk.choices:
                        continue
                    choice = chunk.choices[0]
                    reason = choice.finish_reason or reason
                    if choice.delta.content:
                        text += choice.delta.content
                        yield choice.delta.content
        except openai.OpenAIError as exc:
            raise _translated(exc) from exc
        if usage is None:  # the server reported none: count as this model would
            usage = Usage(estimated_prompt_tokens(messages), self.count_tokens(text))
        yield Completion(text, self.name, model, usage, reason)

    def _request(
        self,
        messages: Sequence[ChatMessage],
        max_tokens: int,
        temperature: float,
        stop: Sequence[str],
    ) -> dict[str, Any]:
        request: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            "max_tokens": max_tokens,
            "temperature": temperature,
        }
        if stop:
            request["stop"] = list(stop)
        if headers := tracing.propagation_headers():
            request["extra_headers"] = headers  # the endpoint may continue the trace
        return request

    def _response_format(self, schema: Mapping[str, Any]) -> dict[str, Any]:
        if self.schema_format == "json_object":
            return {"type": "json_object", "schema": dict(schema)}
        return {
            "type": "json_schema",
            "json_schema": {"name": "result", "schema": dict(schema), "strict": True},
        }

    async def close(self) -> None:
        await self.client.close()


def _translated(exc: openai.OpenAIError) -> LLMError:
    if isinstance(exc, openai.APITimeoutError | openai.APIConnectionError):
        return TransientLLMError(type(exc).__name__)
    if isinstance(exc, openai.APIStatusError):
        return status_error(exc.status_code, retry_after(exc.response.headers))
    return TransientLLMError(type(exc).__name__)
