"""The interface of language models, and what every implementation returns or raises.

A model is asked with a list of chat messages and answers either whole (`complete`) or as a
stream of text pieces ending with the whole `Completion` (`stream`). Given a JSON schema,
`complete` answers one JSON document the provider was told to conform to — by a grammar the
sampler follows (llama.cpp) or the API's structured-output option; the caller still
validates it. Failures are split the
way a caller must treat them: `TransientLLMError` (a timeout, a 429, a 5xx, a dropped
connection — worth retrying, or trying the next provider) and `LLMError` (anything else).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True)
class ChatMessage:
    role: Role
    content: str


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int
    completion_tokens: int


@dataclass(frozen=True)
class Completion:
    text: str
    provider: str
    model: str
    usage: Usage
    finish_reason: str | None = None  # "stop", "length", "cancelled", …


class LLMError(Exception):
    """The model failed in a way retrying will not fix (bad request, refused credentials)."""


class TransientLLMError(LLMError):
    """Worth another try: a timeout, a rate limit (with the wait it asked for), a 5xx."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class LLM(Protocol):
    name: str  # the provider ("local", "openai", …)
    model: str
    context_window: int  # tokens of prompt and answer together

    def count_tokens(self, text: str) -> int:
        """Tokens `text` takes in this model's prompt (exact with a local tokenizer, a
        conservative estimate for a remote model)."""
        ...

    async def complete(
        self,
        messages: Sequence[ChatMessage],
        *,
        max_tokens: int,
        temperature: float = 0.0,
        stop: Sequence[str] = (),
        schema: Mapping[str, Any] | None = None,
    ) -> Completion: ...

    def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        max_tokens: int,
        temperature: float = 0.0,
        stop: Sequence[str] = (),
    ) -> AsyncIterator[str | Completion]:
        """Text pieces as they are produced, then the whole `Completion` (usage included).
        Closing the iterator early stops the generation."""
        ...

    async def close(self) -> None: ...
