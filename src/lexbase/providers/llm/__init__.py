"""Language models: an in-process GGUF model (`local`) and OpenAI-compatible endpoints
(`openai`), in the fallback order the settings give (providers/llm/chain.py)."""

from __future__ import annotations

from lexbase.core.config import Settings
from lexbase.providers.llm.base import (
    LLM,
    ChatMessage,
    Completion,
    LLMError,
    TransientLLMError,
    Usage,
)
from lexbase.providers.llm.chain import AllProvidersFailed, LLMChain, RetryPolicy


def open_llm(name: str, settings: Settings) -> LLM:
    """One provider from settings (its client is made, not yet used)."""
    if name == "local":
        from lexbase.providers.llm.local import LocalLLM, bundled_model

        path = settings.llm_local_model_path or bundled_model()
        if path is None:
            raise LLMError("no local model: set LEXBASE_LLM_LOCAL_MODEL_PATH")
        return LocalLLM(
            path,
            context_window=settings.llm_local_context,
            threads=settings.llm_local_threads,
            queue=settings.llm_local_queue,
        )
    if name == "openai":
        from lexbase.providers.llm.openai_compat import OpenAICompatibleLLM

        key = settings.llm_openai_api_key
        return OpenAICompatibleLLM(
            base_url=settings.llm_openai_base_url,
            api_key=key.get_secret_value() if key is not None else "not-needed",
            model=settings.llm_openai_model,
            context_window=settings.llm_openai_context_window,
            timeout=settings.llm_timeout_seconds,
        )
    raise LLMError(f"unknown language model provider: {name}")


def open_llm_chain(settings: Settings) -> LLMChain:
    policy = RetryPolicy(
        retries=settings.llm_retries,
        failures=settings.llm_circuit_failures,
        cooldown_seconds=settings.llm_circuit_cooldown_seconds,
    )
    return LLMChain([open_llm(name, settings) for name in settings.llm_providers], policy)


__all__ = [
    "LLM",
    "AllProvidersFailed",
    "ChatMessage",
    "Completion",
    "LLMChain",
    "LLMError",
    "RetryPolicy",
    "TransientLLMError",
    "Usage",
    "open_llm",
    "open_llm_chain",
]
