"""What document intelligence holds for the app's life: the clause model, loaded on first
use (off the event loop) and kept, and the language models it may ask (chat's, shared)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request

from lexbase.core.config import Settings
from lexbase.intelligence.clauses import BUNDLED, ClauseModel
from lexbase.providers.llm import LLMChain, only_bundled_model


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

    async def clause_model(self) -> ClauseModel:
        if self._model is None:
            async with self._lock:
                if self._model is None:
                    self._model = await asyncio.to_thread(ClauseModel.load, self.path)
        return self._model


def get_intelligence_state(request: Request) -> IntelligenceState:
    state: IntelligenceState = request.app.state.intelligence
    return state


IntelligenceStateDep = Annotated[IntelligenceState, Depends(get_intelligence_state)]
