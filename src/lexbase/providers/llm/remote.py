"""What the remote providers share: a conservative token estimate where no tokenizer is at
hand, and one rule for which HTTP failures are worth another try."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from lexbase.providers.llm.base import ChatMessage, LLMError, TransientLLMError

# Without the model's tokenizer, a prompt is measured at this many characters a token: fewer
# than English text averages, so packing never overfills a context window.
CHARS_PER_TOKEN = 3.0
MESSAGE_OVERHEAD = 4


def estimated_tokens(text: str) -> int:
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def estimated_prompt_tokens(messages: Sequence[ChatMessage]) -> int:
    return sum(estimated_tokens(m.content) + MESSAGE_OVERHEAD for m in messages)


def status_error(status: int, retry_after: float | None = None) -> LLMError:
    """408, 409, 429 and 5xx (529 "overloaded" among them) are worth another try, with the
    wait a 429 asked for; anything else (a bad request, refused credentials) is not."""
    if status in (408, 409, 429) or status >= 500:
        return TransientLLMError(f"HTTP {status}", retry_after=retry_after)
    return LLMError(f"HTTP {status}")


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds from a Retry-After header given in seconds (the form these APIs use)."""
    value = headers.get("retry-after")
    try:
        return max(float(value), 0.0) if value is not None else None
    except ValueError:
        return None


class RemoteLLM:
    """What every remote provider holds: its model's name and context window, and the
    token estimate it measures prompts with."""

    name = "remote"

    def __init__(self, model: str, context_window: int) -> None:
        self.model = model
        self.context_window = context_window

    def count_tokens(self, text: str) -> int:
        return estimated_tokens(text)
