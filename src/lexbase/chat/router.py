"""HTTP routes of conversations (API.md: Conversations)."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Response, status
from fastapi.responses import StreamingResponse

from lexbase.auth.deps import Reader, Writer
from lexbase.chat.deps import ChatStateDep
from lexbase.chat.schemas import (
    AnswerOut,
    ConversationCreate,
    ConversationOut,
    MessageCreate,
    MessageOut,
)
from lexbase.chat.service import ChatService
from lexbase.core.deps import ResourcesDep
from lexbase.core.pagination import Page, PageDep
from lexbase.search.deps import SearchStateDep

router = APIRouter(prefix="/conversations", tags=["conversations"])


async def chat_service(
    resources: ResourcesDep, search: SearchStateDep, chat: ChatStateDep
) -> ChatService:
    # No request-wide session: the service takes short ones of its own, so no database lock
    # is held while a model writes an answer.
    return ChatService(resources, search, chat)


Chat = Annotated[ChatService, Depends(chat_service)]


@router.post("", response_model=ConversationOut, status_code=status.HTTP_201_CREATED)
async def create_conversation(
    body: ConversationCreate, principal: Writer, chat: Chat
) -> ConversationOut:
    return ConversationOut.model_validate(await chat.create(principal, body))


@router.get("", response_model=Page[ConversationOut])
async def list_conversations(principal: Reader, chat: Chat, page: PageDep) -> Page[ConversationOut]:
    items, total = await chat.conversations(principal, page)
    return Page(
        items=[ConversationOut.model_validate(c) for c in items],
        total=total,
        next_cursor=page.next_cursor(total),
    )


@router.get("/{conversation_id}", response_model=ConversationOut)
async def get_conversation(conversation_id: str, principal: Reader, chat: Chat) -> ConversationOut:
    return ConversationOut.model_validate(await chat.get(principal, conversation_id))


@router.delete("/{conversation_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_conversation(conversation_id: str, principal: Writer, chat: Chat) -> Response:
    await chat.delete(principal, conversation_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{conversation_id}/messages", response_model=Page[MessageOut])
async def conversation_messages(
    conversation_id: str, principal: Reader, chat: Chat, page: PageDep
) -> Page[MessageOut]:
    items, total = await chat.history(principal, conversation_id, page)
    return Page(items=items, total=total, next_cursor=page.next_cursor(total))


@router.post(
    "/{conversation_id}/messages",
    response_model=AnswerOut,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def ask(
    conversation_id: str,
    body: MessageCreate,
    principal: Writer,
    chat: Chat,
    accept: Annotated[str | None, Header()] = None,
) -> AnswerOut | StreamingResponse:
    """Answer the question; with `stream: true` or `Accept: text/event-stream`, as
    Server-Sent Events: `sources`, `token`…, `citations`, `done` (or `error`)."""
    if body.stream or "text/event-stream" in (accept or ""):
        events = chat.ask_streaming(principal, conversation_id, body.content)
        first = await anext(events)  # 404s and 422s are answered as such, before the stream
        return StreamingResponse(
            _sse(first, events),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )
    return AnswerOut(message=await chat.ask(principal, conversation_id, body.content))


async def _sse(
    first: tuple[str, dict[str, Any]], events: AsyncGenerator[tuple[str, dict[str, Any]], None]
) -> AsyncIterator[str]:
    try:
        yield _event(*first)
        async for name, data in events:
            yield _event(name, data)
    finally:
        await events.aclose()  # a client that left stops the model


def _event(name: str, data: dict[str, Any]) -> str:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"
