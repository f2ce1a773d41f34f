"""Model calls traced to Langfuse through its SDK, off unless `LEXBASE_LANGFUSE_HOST` and its
keys are set.

Each attempt of a model call (`LLMChain`) becomes a Langfuse *generation*: provider, model,
parameters, tokens, latency and outcome (a failed attempt is an `ERROR` with the error's type).
Langfuse is a service outside the process, so what it receives of the prompt and the answer
follows the privacy rules of an external model (providers/llm/privacy.py): personal data —
identifiers, contact details, the parties' names — is replaced by the same placeholders the
provider saw, or would have seen; only an organization that turned redaction off has its text
sent as is. `LEXBASE_LANGFUSE_CAPTURE_CONTENT=false` sends no prompt or answer at all.

The SDK speaks OpenTelemetry: it gets a tracer provider of its own here (never the global one,
so the service's other spans do not go to Langfuse), and a generation started while a span of
`core/tracing.py` is current — the request's, the job's, the model call's — joins its trace.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SpanExporter

from lexbase import __version__
from lexbase.core.config import Settings
from lexbase.providers.llm.base import LLM, ChatMessage, Completion
from lexbase.providers.llm.privacy import Privacy, Redaction

if TYPE_CHECKING:
    from langfuse import Langfuse
    from langfuse._client.span import LangfuseGeneration


@dataclass
class _Sink:
    client: Langfuse
    capture_content: bool


_sink: _Sink | None = None


def configure(settings: Settings, exporter: SpanExporter | None = None) -> bool:
    """Start sending this process's model calls to Langfuse when it is configured (`exporter`
    replaces the OTLP exporter the SDK would make: tests); whether they are sent."""
    global _sink
    if _sink is not None:
        return True
    if settings.langfuse_host is None or settings.langfuse_secret_key is None:
        return False
    from langfuse import Langfuse  # imported here: it costs import time, nothing when off

    client = Langfuse(
        public_key=settings.langfuse_public_key,
        secret_key=settings.langfuse_secret_key.get_secret_value(),
        base_url=settings.langfuse_host,
        environment=settings.env.value,
        release=f"lexbase@{__version__}",
        tracer_provider=TracerProvider(),
        span_exporter=exporter,
    )
    _sink = _Sink(client, settings.langfuse_capture_content)
    return True


def shutdown() -> None:
    """Send what is queued and stop sending."""
    global _sink
    sink, _sink = _sink, None
    if sink is not None:
        sink.client.shutdown()
        # The SDK keeps one set of resources per key for the process; forgotten, so that a
        # later `configure` (a new app in the same process) starts afresh.
        from langfuse._client.resource_manager import LangfuseResourceManager

        LangfuseResourceManager.reset()


class Generation:
    """One attempt of a model call, as Langfuse shows it; nothing when Langfuse is off."""

    def __init__(
        self,
        provider: LLM,
        messages: Sequence[ChatMessage],
        max_tokens: int,
        temperature: float,
        privacy: Privacy | None,
    ) -> None:
        self._observation: LangfuseGeneration | None = None
        self._redaction: Redaction | None = None
        if _sink is None:
            return
        self._capture = _sink.capture_content
        if privacy is None or privacy.scope != "off":
            self._redaction = Redaction(privacy.names if privacy else ())
        self._observation = _sink.client.start_observation(
            name=f"llm {provider.name}",
            as_type="generation",
            model=provider.model,
            model_parameters={"max_tokens": max_tokens, "temperature": temperature},
            metadata={"provider": provider.name},
            input=self._messages(messages) if self._capture else None,
        )

    def first_piece(self) -> None:
        """A stream's first piece arrived (Langfuse's time to first token)."""
        if self._observation is not None:
            self._observation.update(completion_start_time=datetime.now(UTC))

    def succeeded(self, completion: Completion) -> None:
        """The attempt answered `completion` (its text as the caller reads it)."""
        if self._observation is None:
            return
        self._observation.update(
            output=self._text(completion.text) if self._capture else None,
            usage_details={
                "input": completion.usage.prompt_tokens,
                "output": completion.usage.completion_tokens,
            },
            metadata={"finish_reason": completion.finish_reason},
        )
        self._observation.end()

        self._observation = None

    def failed(self, exc: BaseException) -> None:
        if self._observation is None:
            return
        self._observation.update(level="ERROR", status_message=type(exc).__name__)
        self._observation.end()
        self._observation = None

    def close(self) -> None:
        """End the attempt if nothing else did (the caller was cancelled, or stopped reading
        a stream)."""
        if self._observation is not None:
            self._observation.update(level="WARNING", status_message="not finished")
            self._observation.end()
            self._observation = None

    def _messages(self, messages: Sequence[ChatMessage]) -> list[dict[str, Any]]:
        return [{"role": m.role, "content": self._text(m.content)} for m in messages]

    def _text(self, text: str) -> str:
        return self._redaction.text(text) if self._redaction is not None else text
