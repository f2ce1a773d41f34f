"""Providers in a fallback order (`LEXBASE_LLM_PROVIDERS=openai,local`), each behind retries
and a circuit breaker.

A call goes to the first provider whose circuit is closed. A transient failure (timeout, 429,
5xx, a busy local model) is retried with exponential backoff and full jitter — a 429's
Retry-After is honoured when it is longer — up to `retries` times; then the next provider is
tried. A permanent failure moves on at once. `failures` consecutive failed calls open a
provider's circuit for `cooldown` seconds, so a dead endpoint costs no time per question. A
stream falls back only before its first piece: once text has reached the caller, a failure is
the caller's to handle. `AllProvidersFailed` tells the caller to answer without a model.

With a `Privacy` policy, a provider it covers gets the prompt with personal data replaced by
placeholders, and its answer comes back with them restored (providers/llm/privacy.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import structlog
from opentelemetry.trace import Span, SpanKind, StatusCode

from lexbase.core import tracing
from lexbase.core.metrics import work
from lexbase.providers.llm.base import LLM, ChatMessage, Completion, LLMError, TransientLLMError
from lexbase.providers.llm.privacy import Privacy, Redaction, StreamRestorer
from lexbase.providers.llm.traces import Generation

log = structlog.get_logger(__name__)


class AllProvidersFailed(LLMError):
    """No provider answered (each failed, or its circuit is open)."""


@dataclass(frozen=True)
class RetryPolicy:
    retries: int = 2
    base_seconds: float = 0.5
    max_seconds: float = 10.0
    failures: int = 3  # consecutive failed calls that open a provider's circuit
    cooldown_seconds: float = 30.0

    def backoff(self, attempt: int, retry_after: float | None) -> float:
        delay = random.uniform(0, min(self.max_seconds, self.base_seconds * 2**attempt))  # noqa: S311
        return max(delay, min(retry_after or 0.0, self.max_seconds))


@dataclass
class _Circuit:
    failures: int = 0
    open_until: float = 0.0

    def is_open(self, now: float) -> bool:
        return now < self.open_until


@dataclass
class LLMChain:
    providers: Sequence[LLM]
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    _circuits: dict[str, _Circuit] = field(default_factory=dict)

    @property
    def primary(self) -> LLM:
        return self.providers[0]

    def available(self) -> list[LLM]:
        """The providers to try now, in order (those whose circuit is not open)."""
        now = time.monotonic()
        return [p for p in self.providers if not self._circuit(p).is_open(now)]

    async def complete(
        self,
        messages: Sequence[ChatMessage],
        *,
        max_tokens: int,
        temperature: float = 0.0,
        privacy: Privacy | None = None,
        schema: Mapping[str, Any] | None = None,
    ) -> Completion:
        for provider in self.available():
            redaction = _redaction(provider, privacy)
            prompt = redaction.messages(messages) if redaction else messages
            for attempt in range(self.policy.retries + 1):
                started = time.perf_counter()
                generation = Generation(provider, messages, max_tokens, temperature, privacy)
                try:
                    with _span(provider, max_tokens) as span:
                        completion = await provider.complete(
                            prompt, max_tokens=max_tokens, temperature=temperature, schema=schema
                        )
                        _usage(span, completion)
                except TransientLLMError as exc:
                    _observe(provider, "failed", started)
                    generation.failed(exc)
                    if attempt < self.policy.retries:
                        await asyncio.sleep(self.policy.backoff(attempt, exc.retry_after))
                        continue
                    self._failed(provider, exc)
                except LLMError as exc:
                    _observe(provider, "failed", started)
                    generation.failed(exc)
                    self._failed(provider, exc)
                else:
                    _observe(provider, "succeeded", started, completion)
                    self._succeeded(provider)
                    if redaction is not None:
                        completion = replace(completion, text=redaction.restore(completion.text))
                    generation.succeeded(completion)
                    return completion
                finally:
                    generation.close()
                break
        raise AllProvidersFailed("no language model answered")

    async def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        max_tokens: int,
        temperature: float = 0.0,
        privacy: Privacy | None = None,
    ) -> AsyncIterator[str | Completion]:
        for provider in self.available():
            redaction = _redaction(provider, privacy)
            prompt = redaction.messages(messages) if redaction else messages
            for attempt in range(self.policy.retries + 1):
                started = False
                clock = time.perf_counter()
                restorer = StreamRestorer(redaction) if redaction else None
                # Not made current: the caller's code runs between the pieces.
                span = tracing.tracer().start_span(
                    f"llm {provider.name}",
                    kind=SpanKind.CLIENT,
                    attributes=_call(provider, max_tokens),
                )
                generation = Generation(provider, messages, max_tokens, temperature, privacy)
                try:
                    async for piece in provider.stream(
                        prompt, max_tokens=max_tokens, temperature=temperature
                    ):
                        if not started:
                            generation.first_piece()
                        started = True
                        if isinstance(piece, Completion):
                            _observe(provider, "succeeded", clock, piece)
                            _usage(span, piece)
                            generation.succeeded(
                                replace(piece, text=redaction.restore(piece.text))
                                if redaction is not None
                                else piece
                            )
                        if restorer is None:
                            yield piece
                        elif isinstance(piece, Completion):
                            if rest := restorer.flush():
                                yield rest
                            yield replace(piece, text=restorer.redaction.restore(piece.text))
                        elif shown := restorer.feed(piece):
                            yield shown
                except TransientLLMError as exc:
                    _observe(provider, "failed", clock)
                    _failed_span(span, exc)
                    generation.failed(exc)
                    if started:
                        self._failed(provider, exc)
                        raise
                    if attempt < self.policy.retries:
                        await asyncio.sleep(self.policy.backoff(attempt, exc.retry_after))
                        continue
                    self._failed(provider, exc)
                except LLMError as exc:
                    _observe(provider, "failed", clock)
                    _failed_span(span, exc)
                    generation.failed(exc)
                    self._failed(provider, exc)
                    if started:
                        raise
                else:
                    self._succeeded(provider)
                    return
                finally:
                    span.end()
                    generation.close()
                break
        raise AllProvidersFailed("no language model answered")

    def _circuit(self, provider: LLM) -> _Circuit:
        return self._circuits.setdefault(provider.name, _Circuit())

    def _failed(self, provider: LLM, exc: LLMError) -> None:
        circuit = self._circuit(provider)
        circuit.failures += 1
        if circuit.failures >= self.policy.failures:
            circuit.open_until = time.monotonic() + self.policy.cooldown_seconds
        log.warning(
            "llm.provider_failed",
            provider=provider.name,
            error=str(exc),
            consecutive=circuit.failures,
            circuit_open=circuit.is_open(time.monotonic()),
        )

    def _succeeded(self, provider: LLM) -> None:
        self._circuits[provider.name] = _Circuit()

    async def close(self) -> None:
        for provider in self.providers:
            await provider.close()


def _call(provider: LLM, max_tokens: int) -> dict[str, str | int]:
    """A model call's span attributes (OpenTelemetry's generative-AI conventions); the
    prompt and the answer are never recorded."""
    return {
        "gen_ai.system": provider.name,
        "gen_ai.request.model": provider.model,
        "gen_ai.request.max_tokens": max_tokens,
    }


@contextlib.contextmanager
def _span(provider: LLM, max_tokens: int) -> Iterator[Span]:
    with tracing.tracer().start_as_current_span(
        f"llm {provider.name}",
        kind=SpanKind.CLIENT,
        attributes=_call(provider, max_tokens),
        record_exception=False,
    ) as span:
        try:
            yield span
        except LLMError as exc:
            _failed_span(span, exc)
            raise


def _usage(span: Span, completion: Completion) -> None:
    span.set_attributes(
        {
            "gen_ai.response.model": completion.model,
            "gen_ai.usage.input_tokens": completion.usage.prompt_tokens,
            "gen_ai.usage.output_tokens": completion.usage.completion_tokens,
        }
    )


def _failed_span(span: Span, exc: LLMError) -> None:
    span.set_status(StatusCode.ERROR, type(exc).__name__)
    span.set_attribute("error.type", type(exc).__name__)


def _observe(
    provider: LLM, outcome: str, started: float, completion: Completion | None = None
) -> None:
    metrics = work()
    labels = (provider.name, provider.model)
    metrics.model_calls.labels(*labels, outcome).inc()
    metrics.model_latency.labels(*labels).observe(time.perf_counter() - started)
    if completion is not None:
        metrics.model_tokens.labels(*labels, "prompt").inc(completion.usage.prompt_tokens)
        metrics.model_tokens.labels(*labels, "completion").inc(completion.usage.completion_tokens)


def _redaction(provider: LLM, privacy: Privacy | None) -> Redaction | None:
    if privacy is None or not privacy.applies_to(provider.name):
        return None
    return Redaction(privacy.names)
