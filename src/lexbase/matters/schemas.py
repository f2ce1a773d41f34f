"""Request and response bodies of the matters domain."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any, ClassVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from lexbase.matters.models import Matter
from lexbase.matters.repository import MemberRecord

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Reference = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
LongText = Annotated[str, StringConstraints(max_length=20_000)]
Id = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


class MatterStatus(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    ARCHIVED = "archived"


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Patch(_Input):
    """A partial update: only the fields sent change; `null` clears an optional field."""

    # NOT NULL columns may be left out of a patch, but never sent as null.
    not_nullable: ClassVar[frozenset[str]] = frozenset()

    @field_validator("*", mode="before")
    @classmethod
    def _not_null(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None and info.field_name in cls.not_nullable:
            raise ValueError("may not be null")
        return value

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True, mode="json")


class ClientCreate(_Input):
    name: Name
    reference: Reference | None = None
    notes: LongText | None = None


class ClientUpdate(_Patch):
    not_nullable = frozenset({"name"})

    name: Name | None = None
    reference: Reference | None = None
    notes: LongText | None = None


class ClientOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    reference: str | None
    notes: str | None
    created_at: datetime
    updated_at: datetime


class MatterCreate(_Input):
    name: Name
    client_id: Id | None = None
    reference: Reference | None = None
    description: LongText | None = None
    restricted: StrictBool = False


class MatterUpdate(_Patch):
    not_nullable = frozenset({"name", "status", "restricted"})

    name: Name | None = None
    client_id: Id | None = None
    reference: Reference | None = None
    description: LongText | None = None
    status: MatterStatus | None = None
    restricted: StrictBool | None = None


class MatterFilters(BaseModel):
    """Query filters of `GET /matters`; each one narrows the visible matters further."""

    q: str | None = Field(
        default=None, min_length=1, max_length=200, description="Part of the name or reference"
    )
    client_id: str | None = Field(default=None, max_length=64)
    status: MatterStatus | None = None
    restricted: bool | None = None


class MemberAdd(_Input):
    user_id: Id


class MemberOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    user_id: str
    full_name: str
    email: str
    added_at: datetime
    added_by: str | None


class MatterOut(BaseModel):
    id: str
    name: str
    client_id: str | None
    reference: str | None
    description: str | None
    status: MatterStatus
    restricted: bool
    created_by: str | None
    member_count: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, matter: Matter, member_count: int) -> MatterOut:
        return cls(**_matter_fields(matter), member_count=member_count)


class MatterDetail(MatterOut):
    members: list[MemberOut] = Field(default_factory=list)

    @classmethod
    def with_members(cls, matter: Matter, members: Sequence[MemberRecord]) -> MatterDetail:
        return cls(
            **_matter_fields(matter),
            member_count=len(members),
            members=[MemberOut.model_validate(member) for member in members],
        )


def _matter_fields(matter: Matter) -> dict[str, Any]:
    return {
        "id": matter.id,
        "name": matter.name,
        "client_id": matter.client_id,
        "reference": matter.reference,
        "description": matter.description,
        "status": matter.status,
        "restricted": matter.restricted,
        "created_by": matter.created_by,
        "created_at": matter.created_at,
        "updated_at": matter.updated_at,
    }
