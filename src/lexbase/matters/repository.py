"""All SQL of the matters domain.

Clients and matters are read only through `statement_for(principal)` (core/scope.py), so
another organization's rows and walled matters are simply absent from every query here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, delete, func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from lexbase.core.db import utcnow
from lexbase.core.principal import Principal
from lexbase.core.repository import Repository
from lexbase.core.scope import ScopedRepository
from lexbase.documents.models import Document
from lexbase.matters.models import Client, Matter, MatterMember
from lexbase.users.models import User


@dataclass(frozen=True)
class MemberRecord:
    """A membership joined with the user it names."""

    user_id: str
    full_name: str
    email: str
    added_at: datetime
    added_by: str | None


class ClientRepository(ScopedRepository[Client]):
    model = Client

    def search(self, principal: Principal, *, q: str | None = None) -> Select[Client]:
        statement = self.statement_for(principal)
        if q:
            statement = statement.where(Client.name.icontains(q, autoescape=True))
        return statement.order_by(Client.name, Client.id)


class MatterRepository(ScopedRepository[Matter]):
    model = Matter

    def search(
        self,
        principal: Principal,
        *,
        q: str | None = None,
        client_id: str | None = None,
        status: str | None = None,
        restricted: bool | None = None,
    ) -> Select[Matter]:
        statement = self.statement_for(principal)
        if q:
            statement = statement.where(
                or_(
                    Matter.name.icontains(q, autoescape=True),
                    Matter.reference.icontains(q, autoescape=True),
                )
            )
        if client_id is not None:
            statement = statement.where(Matter.client_id == client_id)
        if status is not None:
            statement = statement.where(Matter.status == status)
        if restricted is not None:
            statement = statement.where(Matter.restricted.is_(restricted))
        return statement.order_by(Matter.created_at.desc(), Matter.id.desc())

    async def document_count(self, matter_id: str) -> int:
        statement = select(func.count()).where(Document.matter_id == matter_id)
        return int((await self.session.execute(statement)).scalar_one())


class MatterMemberRepository(Repository[MatterMember]):
    """Membership rows carry no organization of their own: callers reach them only through
    a matter already loaded with `MatterRepository.get_for`, which applied the scope."""

    model = MatterMember

    async def add_if_absent(self, matter_id: str, user_id: str, added_by: str | None) -> bool:
        """Insert a membership; False when it already existed. Conflict-free on purpose, so
        two concurrent adds of the same user cannot fail the transaction."""
        dialect = self.session.get_bind().dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        statement = (
            insert(MatterMember)
            .values(matter_id=matter_id, user_id=user_id, added_by=added_by, added_at=utcnow())
            .on_conflict_do_nothing()
            .returning(MatterMember.user_id)
        )
        result = await self.session.execute(statement)
        return result.scalar_one_or_none() is not None

    async def remove(self, matter_id: str, user_id: str) -> bool:
        """Delete a membership; False when there was none."""
        result = await self.session.execute(
            delete(MatterMember)
            .where(MatterMember.matter_id == matter_id, MatterMember.user_id == user_id)
            .returning(MatterMember.user_id)
        )
        return result.scalar_one_or_none() is not None

    async def members(self, matter_id: str, user_id: str | None = None) -> list[MemberRecord]:
        statement = (
            select(
                MatterMember.user_id,
                User.full_name,
                User.email,
                MatterMember.added_at,
                MatterMember.added_by,
            )
            .join(User, User.id == MatterMember.user_id)
            .where(MatterMember.matter_id == matter_id)
            .order_by(MatterMember.added_at, MatterMember.user_id)
        )
        if user_id is not None:
            statement = statement.where(MatterMember.user_id == user_id)
        rows = await self.session.execute(statement)
        return [MemberRecord(*row) for row in rows]

    async def counts(self, matter_ids: Sequence[str]) -> dict[str, int]:
        if not matter_ids:
            return {}
        rows = await self.session.execute(
            select(MatterMember.matter_id, func.count())
            .where(MatterMember.matter_id.in_(matter_ids))
            .group_by(MatterMember.matter_id)
        )
        return {matter_id: count for matter_id, count in rows}
