"""All SQL of users."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Select, func, or_, select

from lexbase.core.principal import Principal
from lexbase.core.scope import ScopedRepository
from lexbase.users.models import User


class UserRepository(ScopedRepository[User]):
    model = User

    async def by_email(self, organization_id: str, email: str) -> User | None:
        """The organization's account with this address."""
        return await self.get_one_or_none(
            select(User).where(User.organization_id == organization_id, User.email == email)
        )

    async def all_by_email(self, email: str, organization_id: str | None = None) -> list[User]:
        """Every account with this address (one per organization), or the one in
        `organization_id`."""
        statement = select(User).where(User.email == email).order_by(User.created_at)
        if organization_id is not None:
            statement = statement.where(User.organization_id == organization_id)
        return list((await self.session.execute(statement)).scalars().all())

    def search(
        self,
        principal: Principal,
        *,
        role: str | None = None,
        q: str | None = None,
        active: bool | None = None,
    ) -> Select[User]:
        statement = self.statement_for(principal).order_by(User.full_name, User.id)
        if role is not None:
            statement = statement.where(User.role == role)
        if active is not None:
            statement = statement.where(User.is_active.is_(active))
        if q:
            pattern = f"%{q.lower()}%"
            statement = statement.where(
                or_(func.lower(User.full_name).like(pattern), User.email.like(pattern))
            )
        return statement

    async def in_organization(self, organization_id: str, ids: Sequence[str]) -> list[User]:
        statement = select(User).where(User.organization_id == organization_id, User.id.in_(ids))
        return list((await self.session.execute(statement)).scalars())

    async def count_active_admins(self, organization_id: str) -> int:
        statement = select(User).where(
            User.organization_id == organization_id,
            User.role == "admin",
            User.is_active.is_(True),
        )
        return await self.count(statement)
