"""Conversations, their history, and answering a question in one.

No transaction is held while an answer is made: the question is stored in one short write,
retrieval and generation run without a database lock (on SQLite a write transaction would
block every other writer for the seconds a model takes), and the answer is stored in another
short write. History is shown as the caller may see it now: citations to documents that have
since gone behind a wall (or away) are hidden, and so are the sentences they supported.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncGenerator, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from lexbase.analytics.models import CHAT_MESSAGE
from lexbase.analytics.service import ModelCall, record_model_call, record_usage
from lexbase.audit.service import record
from lexbase.chat.answer import NO_SOURCES, Packed, Passage, pack, sanitize
from lexbase.chat.deps import ChatState
from lexbase.chat.errors import ConversationNotFound, LimitReached, UnknownScope
from lexbase.chat.extractive import asked_text, extractive_answer
from lexbase.chat.followup import Query, standalone
from lexbase.chat.models import Conversation, Message
from lexbase.chat.repository import ConversationRepository, MessageRepository
from lexbase.chat.schemas import (
    CitationOut,
    ConversationCreate,
    MessageOut,
    SentenceOut,
    UsageOut,
)
from lexbase.chat.sources import Source
from lexbase.chat.verify import VerifiedAnswer, verify
from lexbase.core.background import spawn
from lexbase.core.db import transaction, utcnow
from lexbase.core.errors import ServiceUnavailable
from lexbase.core.pagination import PageParams
from lexbase.core.principal import Principal
from lexbase.core.resources import Resources
from lexbase.documents.service import DocumentService
from lexbase.matters.errors import MatterNotFound
from lexbase.matters.service import get_matter
from lexbase.organizations.service import privacy_of
from lexbase.providers.base import Embedder
from lexbase.providers.llm import AllProvidersFailed, ChatMessage, Completion, LLMError, Privacy
from lexbase.search.deps import SearchState
from lexbase.search.schemas import MAX_QUERY_CHARS, SearchFilters, SearchRequest
from lexbase.search.service import SearchService

log = structlog.get_logger(__name__)

DEFAULT_TITLE = "New conversation"
RETRIEVED = 12  # passages retrieval hands to packing
HISTORY_MESSAGES = 8
MODEL_FAILED = "The language model stopped before finishing the answer; ask again."


_Privacy = tuple[Privacy, bool]  # the organization's policy; whether its parties count


@dataclass(frozen=True)
class Made:
    """An answer and how it was made."""

    answer: VerifiedAnswer
    mode: str
    provider: str | None
    model: str | None
    prompt_tokens: int
    completion_tokens: int


class ChatService:
    def __init__(self, resources: Resources, search: SearchState, chat: ChatState) -> None:
        self.resources = resources
        self.search = search
        self.chat = chat

    # --- conversations ---------------------------------------------------------------
    async def create(self, principal: Principal, body: ConversationCreate) -> Conversation:
        async with transaction(self.resources.write_sessionmaker) as session:
            await self._check_scope(session, principal, body)
            repository = ConversationRepository(session)
            limit = self.resources.settings.chat_max_conversations
            if await repository.count(repository.owned(principal)) >= limit:
                raise LimitReached(
                    "title", f"You keep {limit} conversations, the most allowed; delete some"
                )
            conversation = await ConversationRepository(session).add(
                Conversation(
                    organization_id=principal.organization_id,
                    user_id=principal.user_id,
                    title=body.title or DEFAULT_TITLE,
                    matter_id=body.matter_id,
                    document_ids=body.document_ids,
                )
            )
            await record(
                session,
                "conversation.created",
                principal,
                resource=("conversation", conversation.id),
                details={"matter_id": body.matter_id, "documents": len(body.document_ids or [])},
            )
            return conversation

    async def _check_scope(
        self, session: AsyncSession, principal: Principal, body: ConversationCreate
    ) -> None:
        if body.matter_id is not None:
            try:
                await get_matter(session, principal, body.matter_id)
            except MatterNotFound:
                raise UnknownScope("matter_id") from None
        if body.document_ids:
            visible = await DocumentService(session, self.resources).visible_ids(
                principal, body.document_ids
            )
            if visible != set(body.document_ids):
                raise UnknownScope("document_ids")

    async def conversations(
        self, principal: Principal, page: PageParams
    ) -> tuple[Sequence[Conversation], int]:
        async with transaction(self.resources.sessionmaker) as session:
            repository = ConversationRepository(session)
            return await repository.paginate(
                repository.owned(principal), limit=page.limit, offset=page.offset
            )

    async def get(self, principal: Principal, conversation_id: str) -> Conversation:
        async with transaction(self.resources.sessionmaker) as session:
            return await _own(session, principal, conversation_id)

    async def delete(self, principal: Principal, conversation_id: str) -> None:
        async with transaction(self.resources.write_sessionmaker) as session:
            conversation = await _own(session, principal, conversation_id)
            await ConversationRepository(session).delete(conversation)
            await record(
                session,
                "conversation.deleted",
                principal,
                resource=("conversation", conversation_id),
            )

    async def history(
        self, principal: Principal, conversation_id: str, page: PageParams
    ) -> tuple[list[MessageOut], int]:
        async with transaction(self.resources.sessionmaker) as session:
            await _own(session, principal, conversation_id)
            messages = MessageRepository(session)
            rows, total = await messages.paginate(
                messages.of(conversation_id), limit=page.limit, offset=page.offset
            )
            cited = {c["document_id"] for m in rows for c in m.citations}
            visible = await DocumentService(session, self.resources).visible_ids(
                principal, sorted(cited)
            )
        return [render(m, visible) for m in rows], total

    # --- answering -----------------------------------------------------------------
    async def ask(self, principal: Principal, conversation_id: str, content: str) -> MessageOut:
        started = time.perf_counter()
        scope, history, privacy = await self._begin(principal, conversation_id, content)
        query = standalone(content, history)
        passages = await self._retrieve(principal, query, *scope)
        made = await self._answer(principal, content, passages, history, privacy)
        message = await self._store(principal, conversation_id, made, started)
        return render(message, {c.document_id for c in made.answer.citations})

    async def ask_streaming(
        self, principal: Principal, conversation_id: str, content: str
    ) -> AsyncGenerator[tuple[str, dict[str, Any]], None]:
        """The answer as events: `sources` first (before any generation), `token`s, then
        `citations` (the verified answer) and `done` (the stored message) — or `error`. A
        stream the client closes stops the model; what was made is stored `incomplete`."""
        started = time.perf_counter()
        scope, history, privacy = await self._begin(principal, conversation_id, content)
        query = standalone(content, history)
        passages = await self._retrieve(principal, query, *scope)
        llm, settings = self.chat.llm, self.resources.settings
        if llm is None or not self.chat.generates:
            packed = _pack_without_model(passages, content)
        else:
            turns = [ChatMessage(_role(m.role), m.content) for m in history]
            packed = pack(passages, content, turns, llm.primary, settings.chat_answer_tokens)
        yield "sources", {"sources": [_source_event(s) for s in packed.sources]}
        made: Made | None = None
        text, stored = "", False
        completion: Completion | None = None
        try:
            if llm is not None and self.chat.generates and packed.sources:
                policy = await self._with_parties(principal, privacy, packed)
                try:
                    async for piece in llm.stream(
                        packed.messages, max_tokens=settings.chat_answer_tokens, privacy=policy
                    ):
                        if isinstance(piece, Completion):
                            completion = piece
                        else:
                            text += piece
                            yield "token", {"text": piece}
                except (AllProvidersFailed, LLMError) as exc:
                    if text:  # part of an answer already reached the client
                        log.warning("chat.stream_failed", error=str(exc))
                        yield "error", {"code": "model_failed", "message": MODEL_FAILED}
                        return  # the partial answer is stored below, incomplete
                    log.warning("chat.model_unavailable", error=str(exc))
            if completion is not None:
                answer = verify(sanitize(completion.text, packed.sources), packed.sources)
                usage = completion.usage
                made = Made(
                    answer,
                    "generated",
                    completion.provider,
                    completion.model,
                    usage.prompt_tokens,
                    usage.completion_tokens,
                )
            else:
                made = await self._extractive(content, packed)
                for sentence in made.answer.sentences:
                    yield "token", {"text": sentence.text + " "}
            yield "citations", _citations_event(made.answer)
            message = await self._store(principal, conversation_id, made, started)
            stored = True
            yield "done", {"message": render(message, _cited(made)).model_dump(mode="json")}
        finally:
            if not stored and (made is not None or text):
                # Cut short (the client left): keep what was made, marked as such.
                kept = made or Made(
                    verify(sanitize(text, packed.sources), packed.sources),
                    "generated",
                    llm.primary.name if llm is not None else None,
                    llm.primary.model if llm is not None else None,
                    0,
                    0,
                )
                saving = spawn(self._store(principal, conversation_id, kept, started, "incomplete"))
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.shield(saving)

    async def _begin(
        self, principal: Principal, conversation_id: str, content: str
    ) -> tuple[tuple[str | None, list[str] | None], Sequence[Message], _Privacy]:
        """Store the question (one short write); the conversation's scope, recent turns, and
        the organization's redaction policy."""
        async with transaction(self.resources.write_sessionmaker) as session:
            privacy = await privacy_of(session, self.resources.settings, principal.organization_id)
            conversation = await _own(session, principal, conversation_id)
            messages, limit = MessageRepository(session), self.resources.settings.chat_max_messages
            if await messages.count(messages.of(conversation.id)) + 2 > limit:  # with the answer
                raise LimitReached(
                    "content",
                    f"This conversation holds {limit} messages, the most allowed; start a new one",
                )
            history = await messages.recent(conversation.id, HISTORY_MESSAGES)
            await messages.add(
                Message(
                    conversation_id=conversation.id,
                    organization_id=conversation.organization_id,
                    role="user",
                    content=content,
                )
            )
            await record_usage(
                session,
                principal.organization_id,
                principal.user_id,
                CHAT_MESSAGE,
                conversation_id=conversation.id,
            )
            if conversation.title == DEFAULT_TITLE:
                conversation.title = " ".join(content.split())[:80]
            conversation.updated_at = utcnow()
            return (conversation.matter_id, conversation.document_ids), history, privacy

    async def _with_parties(
        self, principal: Principal, privacy: _Privacy, packed: Packed
    ) -> Privacy:
        """The policy, with the parties of the packed sources' documents when they count."""
        policy, parties = privacy
        if not parties or policy.scope == "off":
            return policy
        ids = sorted({s.document_id for s in packed.sources})
        async with transaction(self.resources.sessionmaker) as session:
            names = await DocumentService(session, self.resources).parties(principal, ids)
        return Privacy(policy.scope, tuple(names))

    async def _store(
        self,
        principal: Principal,
        conversation_id: str,
        made: Made,
        started: float,
        status: str = "complete",
    ) -> Message:
        """Store the answer, and the model call it took (one short write)."""
        async with transaction(self.resources.write_sessionmaker) as session:
            message = await MessageRepository(session).add(
                Message(
                    conversation_id=conversation_id,
                    organization_id=principal.organization_id,
                    role="assistant",
                    content=made.answer.content,
                    mode=made.mode,
                    grounded=made.answer.grounded,
                    citations=[asdict(c) for c in made.answer.citations],
                    sentences=[
                        {"text": s.text, "status": s.status, "markers": list(s.markers)}
                        for s in made.answer.sentences
                    ],
                    provider=made.provider,
                    model=made.model,
                    prompt_tokens=made.prompt_tokens,
                    completion_tokens=made.completion_tokens,
                    latency_ms=round((time.perf_counter() - started) * 1000),
                    status=status,
                )
            )
            if made.mode == "generated" and made.provider is not None:
                call = ModelCall(
                    made.provider,
                    made.model,
                    made.prompt_tokens,
                    made.completion_tokens,
                    message.latency_ms,
                    "ok" if status == "complete" else status,
                )
                await record_model_call(
                    session,
                    principal,
                    call,
                    self.resources.settings.llm_prices,
                    conversation_id=conversation_id,
                    message_id=message.id,
                )
        log.info(
            "chat.answered",
            conversation_id=conversation_id,
            mode=made.mode,
            status=status,
            grounded=made.answer.grounded,
            citations=len(made.answer.citations),
            dropped_markers=made.answer.dropped_markers,
        )
        return message

    async def _retrieve(
        self,
        principal: Principal,
        query: Query,
        matter_id: str | None,
        document_ids: list[str] | None,
    ) -> list[Passage]:
        """Passages for the query within the conversation's scope; a follow-up looks first
        in the documents the previous answer cited."""
        if query.focus:
            focus = [d for d in query.focus if document_ids is None or d in document_ids]
            if focus and (found := await self._search(principal, query.text, matter_id, focus)):
                return found
        return await self._search(principal, query.text, matter_id, document_ids)

    async def _search(
        self,
        principal: Principal,
        question: str,
        matter_id: str | None,
        document_ids: list[str] | None,
    ) -> list[Passage]:
        service = SearchService(
            self.resources.statement_reads, self.resources.settings, self.search
        )
        filters = SearchFilters(matter_id=matter_id, document_ids=document_ids)
        request = SearchRequest(
            query=question[:MAX_QUERY_CHARS],
            filters=filters,
            limit=RETRIEVED,
            highlight=False,
            facets=False,
        )
        try:
            response = await service.search(principal, request)
        except ServiceUnavailable:  # the embedder is not ready: the words still find passages
            response = await service.search(
                principal, request.model_copy(update={"mode": "keyword"})
            )
        return [
            Passage(r.document_id, r.chunk_id, r.title, r.text, r.start, r.end, r.page)
            for r in response.results
        ]

    async def _answer(
        self,
        principal: Principal,
        question: str,
        passages: list[Passage],
        history: Sequence[Message],
        privacy: _Privacy,
    ) -> Made:
        llm = self.chat.llm
        settings = self.resources.settings
        turns = [ChatMessage(_role(m.role), m.content) for m in history]
        if llm is None or not self.chat.generates:
            packed = _pack_without_model(passages, question)
            return await self._extractive(question, packed)
        packed = pack(passages, question, turns, llm.primary, settings.chat_answer_tokens)
        if not packed.sources:
            return Made(VerifiedAnswer(NO_SOURCES, [], []), "generated", None, None, 0, 0)
        policy = await self._with_parties(principal, privacy, packed)
        try:
            completion = await llm.complete(
                packed.messages, max_tokens=settings.chat_answer_tokens, privacy=policy
            )
        except (AllProvidersFailed, LLMError) as exc:
            log.warning("chat.model_unavailable", error=str(exc))
            return await self._extractive(question, packed)
        answer = verify(sanitize(completion.text, packed.sources), packed.sources)
        return Made(
            answer,
            "generated",
            completion.provider,
            completion.model,
            completion.usage.prompt_tokens,
            completion.usage.completion_tokens,
        )

    async def _extractive(self, question: str, packed: Packed) -> Made:
        """The sources' best sentences, scored by the question's words and — once the search
        embedder is ready (it is never waited for) — by closeness in meaning."""
        embedder = self.search.embedder.loaded()
        answer = await asyncio.to_thread(_quote, question, packed.sources, embedder)
        if not answer.sentences:
            answer = VerifiedAnswer(NO_SOURCES, [], [])
        return Made(answer, "extractive", None, None, 0, 0)


def _quote(question: str, sources: list[Source], embedder: Embedder | None) -> VerifiedAnswer:
    if embedder is None or not sources:
        return extractive_answer(question, sources)
    asked = embedder.embed_query(asked_text(question, sources))

    def relevance(texts: Sequence[str]) -> list[float]:
        return [float(x) for x in embedder.embed_passages(texts) @ asked]

    return extractive_answer(question, sources, relevance)


def _pack_without_model(passages: list[Passage], question: str) -> Packed:
    sources = [
        Source(n, p.document_id, p.chunk_id, p.title, p.text, p.start, p.end, p.page)
        for n, p in enumerate(passages, start=1)
    ]
    return Packed(sources, [], 0)


async def _own(session: AsyncSession, principal: Principal, conversation_id: str) -> Conversation:
    conversation = await ConversationRepository(session).own(principal, conversation_id)
    if conversation is None:
        raise ConversationNotFound()
    return conversation


def _role(role: str) -> Literal["user", "assistant"]:
    return "user" if role == "user" else "assistant"


def _cited(made: Made) -> set[str]:
    return {c.document_id for c in made.answer.citations}


def _source_event(source: Source) -> dict[str, Any]:
    return {
        "marker": source.marker,
        "document_id": source.document_id,
        "chunk_id": source.chunk_id,
        "title": source.title,
        "page": source.page,
        "start": source.start,
        "end": source.end,
    }


def _citations_event(answer: VerifiedAnswer) -> dict[str, Any]:
    return {
        "citations": [asdict(c) for c in answer.citations],
        "sentences": [
            {"text": s.text, "status": s.status, "markers": list(s.markers)}
            for s in answer.sentences
        ],
        "grounded": answer.grounded,
        "content": answer.content,
    }


def render(message: Message, visible: set[str]) -> MessageOut:
    """The message as the caller may see it now: citations to documents it can no longer
    see are left out, and so is the text of sentences only they supported."""
    citations = [c for c in message.citations if c["document_id"] in visible]
    shown = {c["marker"] for c in citations}
    hidden = {c["marker"] for c in message.citations} - shown
    sentences = []
    for sentence in message.sentences:
        markers = [m for m in sentence["markers"] if m not in hidden]
        if sentence["markers"] and not markers:
            sentences.append(SentenceOut(text="", status="withheld", markers=[]))
        else:
            sentences.append(
                SentenceOut(text=sentence["text"], status=sentence["status"], markers=markers)
            )
    content = message.content
    if hidden:
        content = " ".join(
            s.text + "".join(f" [{m}]" for m in s.markers) for s in sentences if s.text
        )
    return MessageOut(
        id=message.id,
        role="assistant" if message.role == "assistant" else "user",
        content=content,
        mode=message.mode,
        grounded=message.grounded,
        citations=[CitationOut(**c) for c in citations],
        sentences=sentences,
        model=message.model,
        usage=UsageOut(
            prompt_tokens=message.prompt_tokens, completion_tokens=message.completion_tokens
        ),
        status=message.status,
        created_at=message.created_at,
    )
