"""Recording usage, in the caller's transaction:

await record_model_call(session, principal, call, conversation_id=…, message_id=…)
await record_usage(session, organization_id, user_id, SEARCH)
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from lexbase.analytics.models import MODEL_CALL, UsageEvent
from lexbase.core.metrics import work
from lexbase.core.principal import Principal
from lexbase.providers.llm import Completion

PER_MILLION = 1_000_000

# The workflow execution whose step is running in this task: what it counts is its cost.
_workflow_execution: ContextVar[str | None] = ContextVar("lexbase_workflow", default=None)


@contextmanager
def counted_for_workflow(execution_id: str) -> Iterator[None]:
    """Usage recorded inside is attributed to the workflow execution as well."""
    token = _workflow_execution.set(execution_id)
    try:
        yield
    finally:
        _workflow_execution.reset(token)


@dataclass(frozen=True)
class ModelCall:
    provider: str | None
    model: str | None
    prompt_tokens: int
    completion_tokens: int
    latency_ms: int | None
    outcome: str = "ok"


def call_of(completion: Completion, started: float) -> ModelCall:
    """A finished model call, timed from `started` (a `time.perf_counter()` reading)."""
    return ModelCall(
        completion.provider,
        completion.model,
        completion.usage.prompt_tokens,
        completion.usage.completion_tokens,
        int((time.perf_counter() - started) * 1000),
    )


def estimated_cost(call: ModelCall, prices: dict[str, tuple[float, float]]) -> float:
    """Prompt and completion tokens at the model's price per million tokens (0 when the price
    table does not name it: a local model costs nothing per call)."""
    if call.model is None or call.model not in prices:
        return 0.0
    prompt, completion = prices[call.model]
    return (call.prompt_tokens * prompt + call.completion_tokens * completion) / PER_MILLION


async def record_usage(
    session: AsyncSession,
    organization_id: str,
    user_id: str | None,
    kind: str,
    *,
    quantity: int = 1,
    document_id: str | None = None,
    conversation_id: str | None = None,
) -> UsageEvent:
    """Count one action (a search, an upload, a chat message, pages processed) in the
    transaction that does it."""
    event = UsageEvent(
        organization_id=organization_id,
        user_id=user_id,
        kind=kind,
        quantity=quantity,
        document_id=document_id,
        conversation_id=conversation_id,
        workflow_execution_id=_workflow_execution.get(),
    )
    session.add(event)
    await session.flush()
    return event


async def record_model_call(
    session: AsyncSession,
    principal: Principal,
    call: ModelCall,
    prices: dict[str, tuple[float, float]],
    *,
    conversation_id: str | None = None,
    message_id: str | None = None,
) -> UsageEvent:
    cost = estimated_cost(call, prices)
    if cost:
        work().model_cost.labels(call.provider or "", call.model or "").inc(cost)
    event = UsageEvent(
        organization_id=principal.organization_id,
        user_id=principal.user_id,
        kind=MODEL_CALL,
        conversation_id=conversation_id,
        message_id=message_id,
        provider=call.provider,
        model=call.model,
        prompt_tokens=call.prompt_tokens,
        completion_tokens=call.completion_tokens,
        latency_ms=call.latency_ms,
        estimated_cost=cost,
        outcome=call.outcome,
        workflow_execution_id=_workflow_execution.get(),
    )
    session.add(event)
    await session.flush()
    return event
