"""All SQL of conversations and messages."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Select, select

from lexbase.chat.models import Conversation, Message
from lexbase.core.principal import Principal
from lexbase.core.repository import Repository
from lexbase.core.scope import ScopedRepository


class ConversationRepository(ScopedRepository[Conversation]):
    model = Conversation

    def owned(self, principal: Principal) -> Select[Conversation]:
        """The caller's own conversations (tenant and walls applied as everywhere): nobody
        else's, admins' included."""
        return (
            self.statement_for(principal)
            .where(Conversation.user_id == principal.user_id)
            .order_by(Conversation.updated_at.desc(), Conversation.id)
        )

    async def own(self, principal: Principal, conversation_id: str) -> Conversation | None:
        return await self.get_one_or_none(
            self.owned(principal).where(Conversation.id == conversation_id)
        )


class MessageRepository(Repository[Message]):
    """Reached only through a conversation already loaded with `ConversationRepository.own`,
    which applied the scope."""

    model = Message

    def of(self, conversation_id: str) -> Select[Message]:
        return (
            select(Message)
            .where(Message.conversation_id == conversation_id)
            .order_by(Message.created_at, Message.id)
        )

    async def recent(self, conversation_id: str, limit: int) -> Sequence[Message]:
        statement = (
            select(Message)
            .where(Message.conversation_id == conversation_id, Message.status == "complete")
            .order_by(Message.created_at.desc(), Message.id.desc())
            .limit(limit)
        )
        rows = (await self.session.execute(statement)).scalars().all()
        return list(reversed(rows))
