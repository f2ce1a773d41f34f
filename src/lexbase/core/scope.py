"""The one place where tenant and ethical-wall filters are built.

Every repository that reads organization data derives from `ScopedRepository`, whose
`statement_for(principal)` adds the caller's organization and — for matters and anything
filed under a matter — the walls the caller may see through. Another organization's or a
walled matter's row is simply absent, so callers answer 404, never 403.

Walls *are* the access model of every domain, yet the matter tables belong to the matters
domain: it registers them here when its models load (`register_walls`), and a scope asked
for before that fails loudly rather than open.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, false, or_, select, true

from lexbase.core.db import Base
from lexbase.core.principal import Principal
from lexbase.core.repository import Repository

ModelT = TypeVar("ModelT", bound=Base)
ModelClass = TypeVar("ModelClass", bound=type[Any])
DocumentRows = Callable[[str], ColumnElement[bool]]

# Tables whose rows belong to one document and carry a copy of its matter, so walls apply to
# them inside queries without a join: each model with the clause selecting a document's rows.
# Moving a document moves every one of them (`DocumentRepository.move_to_matter`); a test
# checks that no such table is left out.
DOCUMENT_SCOPED: list[tuple[Any, DocumentRows]] = []


def document_scoped(
    rows: DocumentRows | None = None,
) -> Callable[[ModelClass], ModelClass]:
    """Register a model with a `matter_id` column whose rows belong to a document (class
    decorator); `rows` selects a document's rows, by default `model.document_id == id`."""

    def register(model: ModelClass) -> ModelClass:
        DOCUMENT_SCOPED.append(
            (model, rows or (lambda document_id: model.document_id == document_id))
        )
        return model

    return register


@dataclass(frozen=True)
class WallTables:
    """The matters table (`id`, `organization_id`, `restricted`) and its members table
    (`matter_id`, `user_id`)."""

    matter: Any
    member: Any


_WALLS: list[WallTables] = []


def register_walls(tables: WallTables) -> None:
    """Called by the matters domain as its models load."""
    _WALLS[:] = [tables]


def _walls() -> WallTables:
    if not _WALLS:
        raise RuntimeError("no wall tables registered: lexbase.matters.models is not loaded")
    return _WALLS[0]


def visible_matter_ids(principal: Principal) -> Select[str]:
    """Ids of the matters the principal may see: open ones, walled ones it is a member of,
    and every matter of its organization for admins."""
    matter = _walls().matter
    statement = select(matter.id).where(matter.organization_id == principal.organization_id)
    if not principal.is_admin:
        statement = statement.where(_wall_clause(principal))
    return statement


def _wall_clause(principal: Principal) -> ColumnElement[bool]:
    walls = _walls()
    members = select(walls.member.matter_id).where(walls.member.user_id == principal.user_id)
    return or_(walls.matter.restricted.is_(False), walls.matter.id.in_(members))


def scope_clause(model: Any, principal: Principal) -> ColumnElement[bool]:
    """The WHERE clause limiting `model` to what `principal` may see."""
    organization_column = getattr(model, "organization_id", None)
    if organization_column is None:
        return false()  # a model without a tenant column is not readable through a scope
    clause: ColumnElement[bool] = organization_column == principal.organization_id
    if model is _walls().matter:
        return clause if principal.is_admin else clause & _wall_clause(principal)
    matter_column = getattr(model, "matter_id", None)
    if matter_column is not None and not principal.is_admin:
        clause = clause & or_(
            matter_column.is_(None), matter_column.in_(visible_matter_ids(principal))
        )
    return clause if clause is not None else true()


def unwalled_clause(model: Any, organization_id: str) -> ColumnElement[bool]:
    """`model`'s rows of the organization that no wall covers: filed under no matter or under
    an open one. Statistics shared by every caller of a firm (search's word counts) are taken
    over these alone, so they carry nothing of what a wall hides."""
    matter = _walls().matter
    open_matters = select(matter.id).where(
        matter.organization_id == organization_id, matter.restricted.is_(False)
    )
    clause: ColumnElement[bool] = (model.organization_id == organization_id) & or_(
        model.matter_id.is_(None), model.matter_id.in_(open_matters)
    )
    return clause


class ScopedRepository(Repository[ModelT]):
    """A repository whose reads all go through the caller's scope."""

    def statement_for(self, principal: Principal) -> Select[ModelT]:
        return self.statement().where(scope_clause(self.model, principal))

    async def get_for(self, principal: Principal, id_: str) -> ModelT | None:
        return await self.get_one_or_none(self.statement_for(principal).where(self.model.id == id_))
