"""The generic repository every domain's repository builds on. All SQL lives in repositories."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Generic, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from lexbase.core.db import Base

ModelT = TypeVar("ModelT", bound=Base)

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


class Repository(Generic[ModelT]):
    """CRUD over one model. Subclasses set `model` and add their own queries."""

    model: ClassVar[type[Any]]

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def statement(self) -> Select[ModelT]:
        """The base SELECT that every read starts from; scoped repositories narrow it."""
        return select(self.model)

    async def get(self, id_: str) -> ModelT | None:
        result = await self.session.execute(self.statement().where(self.model.id == id_))
        return result.scalar_one_or_none()

    async def get_one_or_none(self, statement: Select[ModelT]) -> ModelT | None:
        result = await self.session.execute(statement)
        return result.scalars().unique().one_or_none()

    async def list(
        self,
        statement: Select[ModelT],
        *,
        limit: int = DEFAULT_PAGE_SIZE,
        offset: int = 0,
    ) -> Sequence[ModelT]:
        result = await self.session.execute(statement.limit(limit).offset(offset))
        return result.scalars().unique().all()

    async def count(self, statement: Select[ModelT]) -> int:
        count_stmt = select(func.count()).select_from(statement.order_by(None).subquery())
        return int((await self.session.execute(count_stmt)).scalar_one())

    async def paginate(
        self,
        statement: Select[ModelT],
        *,
        limit: int = DEFAULT_PAGE_SIZE,
        offset: int = 0,
    ) -> tuple[Sequence[ModelT], int]:
        return await self.list(statement, limit=limit, offset=offset), await self.count(statement)

    async def add(self, instance: ModelT) -> ModelT:
        self.session.add(instance)
        await self.session.flush()
        return instance

    async def update(self, instance: ModelT, values: dict[str, Any]) -> ModelT:
        for key, value in values.items():
            setattr(instance, key, value)
        await self.session.flush()
        return instance

    async def delete(self, instance: ModelT) -> None:
        await self.session.delete(instance)
        await self.session.flush()
