"""What chat holds for the app's life: the language models, opened and closed by the
lifespan."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import structlog
from fastapi import Depends, Request

from lexbase.core.config import Settings
from lexbase.providers.llm import LLMChain, LLMError, open_llm_chain

log = structlog.get_logger(__name__)


@dataclass
class ChatState:
    llm: LLMChain | None  # None: no provider could be opened; answers are extractive

    @classmethod
    def open(cls, settings: Settings) -> ChatState:
        try:
            return cls(open_llm_chain(settings))
        except LLMError as exc:
            log.warning("chat.no_language_model", error=str(exc))
            return cls(None)

    async def close(self) -> None:
        if self.llm is not None:
            await self.llm.close()


def get_chat_state(request: Request) -> ChatState:
    state: ChatState = request.app.state.chat
    return state


ChatStateDep = Annotated[ChatState, Depends(get_chat_state)]
