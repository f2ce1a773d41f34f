"""Google's Gemini API through the official `google-genai` client (its asynchronous side,
over `httpx2`, the HTTP client that SDK is built on).
Retries are the caller's (providers/llm/chain.py), so the client makes none; failures are
sorted into transient and permanent ones as for the other remote providers. A JSON schema
is sent as the response's JSON schema (`response_json_schema`, JSON output).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

import httpx2
from google import genai
from google.genai import errors, types

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
    estimated_tokens,
    retry_after,
    status_error,
)


class GeminiLLM(RemoteLLM):
    name = "gemini"

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
        options = types.HttpOptions(
            base_url=base_url,
            timeout=int(timeout * 1000),  # milliseconds
            retry_options=types.HttpRetryOptions(attempts=1),
        )
        self.client = genai.Client(api_key=api_key, http_options=options)

    async def complete(
        self,
        messages: Sequence[ChatMessage],
        *,
        max_tokens: int,
        temperature: float = 0.0,
        stop: Sequence[str] = (),
        schema: Mapping[str, Any] | None = None,
    ) -> Completion:
        contents, config = _request(messages, max_tokens, temperature, stop)
        if schema is not None:
            config.response_mime_type = "application/json"
            config.response_json_schema = dict(schema)
        try:
            response = await self.client.aio.models.generate_content(
                model=self.model, contents=contents, config=config
            )
        except (errors.APIError, httpx2.HTTPError) as exc:
            raise _translated(exc) from exc
        text = response.text or ""
        return Completion(
            text,
            self.name,
            response.model_version or self.model,
            _usage(response, messages, text),
            _reason(response),
        )

    async def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        max_tokens: int,
        temperature: float = 0.0,
        stop: Sequence[str] = (),
    ) -> AsyncIterator[str | Completion]:
        contents, config = _request(messages, max_tokens, temperature, stop)
        text, last = "", None
        try:
            chunks = await self.client.aio.models.generate_content_stream(
                model=self.model, contents=contents, config=config
            )
            async for chunk in chunks:
                last = chunk
                piece = chunk.text or ""
                if piece:
                    text += piece
                    yield piece
        except (errors.APIError, httpx2.HTTPError) as exc:
            raise _translated(exc) from exc
        if last is None:
            raise TransientLLMError("the provider's stream ended without a response")
        model = last.model_version or self.model
        yield Completion(text, self.name, model, _usage(last, messages, text), _reason(last))

    async def close(self) -> None:
        await self.client.aio.aclose()


def _request(
    messages: Sequence[ChatMessage],
    max_tokens: int,
    temperature: float,
    stop: Sequence[str],
) -> tuple[list[types.Content], types.GenerateContentConfig]:
    """System text goes in the config; the assistant's turns are the "model" role."""
    system = "\n\n".join(m.content for m in messages if m.role == "system")
    contents = [
        types.Content(
            role="model" if m.role == "assistant" else "user",
            parts=[types.Part(text=m.content)],
        )
        for m in messages
        if m.role != "system"
    ]
    options: dict[str, Any] = {"max_output_tokens": max_tokens, "temperature": temperature}
    if system:
        options["system_instruction"] = system
    if stop:
        options["stop_sequences"] = list(stop)
    return contents, types.GenerateContentConfig(**options)


def _usage(
    response: types.GenerateContentResponse, messages: Sequence[ChatMessage], text: str
) -> Usage:
    """As the API reports it (the last chunk of a stream carries the totals), else counted."""
    meta = response.usage_metadata
    if meta is not None and meta.prompt_token_count is not None:
        return Usage(meta.prompt_token_count, meta.candidates_token_count or 0)
    return Usage(estimated_prompt_tokens(messages), estimated_tokens(text))


def _reason(response: types.GenerateContentResponse) -> str | None:
    if not response.candidates or response.candidates[0].finish_reason is None:
        return None
    reason = response.candidates[0].finish_reason
    return {"STOP": "stop", "MAX_TOKENS": "length"}.get(reason.value, reason.value.lower())


def _translated(exc: errors.APIError | httpx2.HTTPError) -> LLMError:
    if isinstance(exc, httpx2.HTTPError):  # a timeout or a dropped connection
        return TransientLLMError(type(exc).__name__)
    headers = getattr(exc.response, "headers", None) or {}
    return status_error(exc.code, retry_after(headers))
