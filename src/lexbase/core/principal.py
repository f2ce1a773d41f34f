"""The one type every domain receives for "who is calling"."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from lexbase.core.permissions import Permission, Role, Scope, effective_permissions


@dataclass(frozen=True)
class Principal:
    user_id: str
    organization_id: str
    role: Role
    session_id: str | None = None
    api_key_id: str | None = None
    scopes: frozenset[Scope] | None = None
    # When the credential stops being valid (the access token's exp, the API key's expiry).
    expires_at: datetime | None = None
    # Runs the server: may see server-level health (paths, disk, every firm's queue).
    is_operator: bool = False
    permissions: frozenset[Permission] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "permissions", effective_permissions(self.role, self.scopes))

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    @property
    def actor_type(self) -> str:
        return "api_key" if self.api_key_id else "user"

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions

    def as_requester(self) -> dict[str, Any]:
        """Who is asking, as work done later on their behalf keeps it (a job's payload): the
        credential, not the role — `auth.deps.reauthenticate` reads the role anew."""
        return {
            "user_id": self.user_id,
            "organization_id": self.organization_id,
            "session_id": self.session_id,
            "api_key_id": self.api_key_id,
            "scopes": None if self.scopes is None else sorted(s.value for s in self.scopes),
        }

    @classmethod
    def of_requester(cls, requester: dict[str, Any]) -> Principal:
        """The principal `as_requester` kept, with no role yet (a viewer's, until re-read)."""
        scopes = requester.get("scopes")
        return cls(
            user_id=requester["user_id"],
            organization_id=requester["organization_id"],
            role=Role.VIEWER,
            session_id=requester.get("session_id"),
            api_key_id=requester.get("api_key_id"),
            scopes=None if scopes is None else frozenset(Scope(s) for s in scopes),
        )
