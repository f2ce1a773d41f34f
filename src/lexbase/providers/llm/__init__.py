"""Language models: an in-process GGUF model (`local`), OpenAI-compatible endpoints
(`openai`), Anthropic (`anthropic`) and Gemini (`gemini`), in the fallback order the settings
give (providers/llm/chain.py)."""

from __future__ import annotations

import importlib

from pydantic import SecretStr

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
from lexbase.providers.llm.privacy import Privacy

# Remote providers by name: their module and class; each reads its settings
# `llm_<name>_base_url`, `_api_key`, `_model` and `_context_window`.
REMOTE = {
    "openai": ("lexbase.providers.llm.openai_compat", "OpenAICompatibleLLM"),
    "anthropic": ("lexbase.providers.llm.anthropic_api", "AnthropicLLM"),
    "gemini": ("lexbase.providers.llm.gemini_api", "GeminiLLM"),
}


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
    if name in REMOTE:
        module_name, class_name = REMOTE[name]
        provider = getattr(importlib.import_module(module_name), class_name)
        key: SecretStr | None = getattr(settings, f"llm_{name}_api_key")
        extra = {"schema_format": settings.llm_openai_schema_format} if name == "openai" else {}
        llm: LLM = provider(
            base_url=getattr(settings, f"llm_{name}_base_url"),
            api_key=key.get_secret_value() if key is not None else "not-set",
            model=getattr(settings, f"llm_{name}_model"),
            context_window=getattr(settings, f"llm_{name}_context_window"),
            timeout=settings.llm_timeout_seconds,
            **extra,
        )
        return llm
    raise LLMError(f"unknown language model provider: {name}")


def only_bundled_model(settings: Settings) -> bool:
    """Whether the only model configured is the bundled SmolLM2-135M (what features that the
    tiny model measurably does badly fall back from)."""
    return settings.llm_providers == ["local"] and settings.llm_local_model_path is None


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
    "Privacy",
    "RetryPolicy",
    "TransientLLMError",
    "Usage",
    "only_bundled_model",
    "open_llm",
    "open_llm_chain",
]
