"""What chat holds for the app's life: the language models, opened and closed by the
lifespan."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

import structlog
from fastapi import Depends, Request

from lexbase.core.config import Settings
from lexbase.providers.llm import LLMChain, LLMError, only_bundled_model, open_llm_chain

log = structlog.get_logger(__name__)


Mode = Literal["generated", "extractive"]


def answer_mode(settings: Settings) -> Mode:
    """How answers are made. `auto` quotes the sources (extractive) when the only model is
    the bundled SmolLM2-135M — on the CUAD eval its generated answers cite the right passage
    less often than the quotes do, and it states things no source says — and lets any other
    model (a GGUF file named by a setting, or a hosted API) write them."""
    if settings.chat_answer_mode != "auto":
        return settings.chat_answer_mode
    return "extractive" if only_bundled_model(settings) else "generated"


@dataclass
class ChatState:
    llm: LLMChain | None  # None: no provider could be opened; answers are extractive
    mode: Mode = "generated"

    @property
    def generates(self) -> bool:
        """Whether answers are asked of a model (else quoted from the sources)."""
        return self.llm is not None and self.mode == "generated"

    @classmethod
    def open(cls, settings: Settings) -> ChatState:
        mode = answer_mode(settings)
        try:
            return cls(open_llm_chain(settings), mode)
        except LLMError as exc:
            log.warning("chat.no_language_model", error=str(exc))
            return cls(None, mode)

    async def close(self) -> None:
        if self.llm is not None:
            await self.llm.close()


async def get_chat_state(request: Request) -> ChatState:
    state: ChatState = request.app.state.chat
    return state


ChatStateDep = Annotated[ChatState, Depends(get_chat_state)]
