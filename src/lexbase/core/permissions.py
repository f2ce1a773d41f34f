"""Roles, permissions and API-key scopes: the one table of who may do what."""

from __future__ import annotations

import enum


class Role(enum.StrEnum):
    ADMIN = "admin"
    ATTORNEY = "attorney"
    PARALEGAL = "paralegal"
    VIEWER = "viewer"


class Permission(enum.StrEnum):
    READ = "read"  # see the organization's (visible) data
    WRITE = "write"  # create and change clients, matters, documents, conversations
    MANAGE_WALLS = "manage_walls"  # restrict matters and manage their members
    MANAGE_USERS = "manage_users"  # invite, change and deactivate users
    READ_AUDIT = "read_audit"  # read, export and verify the audit trail
    VIEW_OPERATIONS = "view_operations"  # dependency health, capacity and queue figures
    MANAGE_ORGANIZATION = "manage_organization"  # the organization's name and policies
    VIEW_ANALYTICS = "view_analytics"  # the organization's usage, per user
    # change the caller's own account: profile, password, API keys. Every role has it; of API
    # key scopes only `admin` grants it, so a read or write key cannot take over its owner.
    MANAGE_ACCOUNT = "manage_account"


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.VIEWER: frozenset({Permission.READ, Permission.MANAGE_ACCOUNT}),
    Role.PARALEGAL: frozenset({Permission.READ, Permission.WRITE, Permission.MANAGE_ACCOUNT}),
    Role.ATTORNEY: frozenset(
        {Permission.READ, Permission.WRITE, Permission.MANAGE_WALLS, Permission.MANAGE_ACCOUNT}
    ),
    Role.ADMIN: frozenset(Permission),
}


class Scope(enum.StrEnum):
    """What an API key may do, on top of (never beyond) its owner's role."""

    READ = "read"
    WRITE = "write"
    ADMIN = "admin"


SCOPE_PERMISSIONS: dict[Scope, frozenset[Permission]] = {
    Scope.READ: frozenset({Permission.READ}),
    Scope.WRITE: frozenset({Permission.READ, Permission.WRITE, Permission.MANAGE_WALLS}),
    Scope.ADMIN: frozenset(Permission),
}


def effective_permissions(role: Role, scopes: frozenset[Scope] | None) -> frozenset[Permission]:
    granted = ROLE_PERMISSIONS[role]
    if scopes is None:
        return granted
    allowed: frozenset[Permission] = frozenset().union(*(SCOPE_PERMISSIONS[s] for s in scopes))
    return granted & allowed
