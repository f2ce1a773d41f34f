"""Bodies of the admin user-management routes."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from lexbase.auth.schemas import UserOut
from lexbase.core.permissions import Role
from lexbase.core.types import EmailAddress

__all__ = ["UserCreate", "UserOut", "UserUpdate"]


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    email: EmailAddress
    full_name: str = Field(min_length=1, max_length=200)
    role: Role = Role.VIEWER
    password: str = Field(min_length=1, max_length=256)


class UserUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    full_name: str | None = Field(default=None, min_length=1, max_length=200)
    role: Role | None = None
    is_active: bool | None = None
    password: str | None = Field(default=None, min_length=1, max_length=256)
