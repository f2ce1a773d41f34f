"""What document intelligence holds for the app's life: the clause model, loaded on first
use (off the event loop) and kept, and the language models it may ask (chat's, shared)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import structlog
from fastapi import Depends, Request

from lexbase.core.config import Settings
from lexbase.intelligence.clauses import BUNDLED, ClauseModel
from lexbase.providers.llm import LLMChain, LLMError, only_bundled_model, open_llm_chain

log = structlog.get_logger(__name__)


def asks_model_fields(settings: Settings) -> bool:
    """Whether analyses ask a model for the fields the rules leave (`auto`: unless the only
    model is the bundled SmolLM2-135M — on the fixtures none of its contract values and none
    of its holdings passed the check, at one to two seconds a call)."""
    if settings.analysis_model_fields == "auto":
        return not only_bundled_model(settings)
    return settings.analysis_model_fields == "on"


class IntelligenceState:
    def __init__(
        self,
        llm: LLMChain | None = None,
        *,
        model_fields: bool = False,
        clause_model_path: Path = BUNDLED,
    ) -> None:
        self.llm = llm  # None: no abstractive summaries; fields only a model reads stay null
        self.model_fields = model_fields and llm is not None  # analyses ask the model
        self.path = clause_model_path
        self._model: ClauseModel | None = None
        self._lock = asyncio.Lock()
        self._owns_llm = False

    @classmethod
    def open(cls, settings: Settings) -> IntelligenceState:
        """A state with language models of its own (a worker process running analysis jobs;
        the app's shares chat's). Close it with `close()`."""
        try:
            llm: LLMChain | None = open_llm_chain(settings)
        except LLMError as exc:
            log.warning("intelligence.no_language_model", error=str(exc))
            llm = None
        state = cls(llm, model_fields=asks_model_fields(settings))
        state._owns_llm = True
        return state

    async def close(self) -> None:
        if self._owns_llm and self.llm is not None:
            await self.llm.close()

    async def clause_model(self) -> ClauseModel:
        if self._model is None:
            async with self._lock:
                if self._model is None:
                    self._model = await asyncio.to_thread(ClauseModel.load, self.path)
        return self._model


async def get_intelligence_state(request: Request) -> IntelligenceState:
    state: IntelligenceState = request.app.state.intelligence
    return state


IntelligenceStateDep = Annotated[IntelligenceState, Depends(get_intelligence_state)]
