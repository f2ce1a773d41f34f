"""Admin management of an organization's users."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from lexbase.apikeys.repository import ApiKeyRepository
from lexbase.audit.service import record
from lexbase.auth.errors import EmailTaken
from lexbase.auth.passwords import check_password
from lexbase.auth.repository import OrganizationRepository, SessionRepository
from lexbase.core.config import Settings
from lexbase.core.db import utcnow
from lexbase.core.events import access_changed
from lexbase.core.pagination import PageParams
from lexbase.core.permissions import Role
from lexbase.core.principal import Principal
from lexbase.core.security import PasswordHashing, hash_password
from lexbase.users.errors import (
    CannotChangeSelf,
    LastAdmin,
    NotAnAdmin,
    OrganizationNotFound,
    UserNotFound,
)
from lexbase.users.models import User
from lexbase.users.repository import UserRepository
from lexbase.users.schemas import UserCreate, UserUpdate


class UserService:
    def __init__(
        self, session: AsyncSession, settings: Settings, passwords: PasswordHashing
    ) -> None:
        self.session = session
        self.settings = settings
        self.passwords = passwords
        self.users = UserRepository(session)

    async def create(self, principal: Principal, body: UserCreate) -> User:
        check_password(
            body.password, email=body.email, min_length=self.settings.password_min_length
        )
        if await self.users.by_email(principal.organization_id, body.email) is not None:
            raise EmailTaken()
        user = await self.users.add(
            User(
                organization_id=principal.organization_id,
                email=body.email,
                full_name=body.full_name,
                role=body.role.value,
                password_hash=await self.passwords.hash(body.password),
            )
        )
        await record(
            self.session,
            "user.created",
            principal,
            resource=("user", user.id),
            details={"email": user.email, "role": user.role},
        )
        return user

    async def list(
        self,
        principal: Principal,
        page: PageParams,
        role: Role | None,
        q: str | None,
        active: bool | None,
    ) -> tuple[Sequence[User], int]:
        statement = self.users.search(principal, role=role, q=q, active=active)
        return await self.users.paginate(statement, limit=page.limit, offset=page.offset)

    async def get(self, principal: Principal, user_id: str) -> User:
        user = await self.users.get_for(principal, user_id)
        if user is None:
            raise UserNotFound()
        return user

    async def update(self, principal: Principal, user_id: str, body: UserUpdate) -> User:
        user = await self.get(principal, user_id)
        changes = body.model_dump(exclude_unset=True, exclude_none=True)
        demoting = "role" in changes and changes["role"] != Role.ADMIN and user.role == Role.ADMIN
        deactivating = changes.get("is_active") is False and user.is_active
        if (demoting or deactivating) and user.id == principal.user_id:
            raise CannotChangeSelf()
        losing_admin = user.role == Role.ADMIN and (demoting or deactivating)
        if losing_admin:
            # Counted under the organization's lock: two admins demoting each other at once
            # must not both see the other one still there.
            await OrganizationRepository(self.session).lock(principal.organization_id)
            if await self.users.count_active_admins(principal.organization_id) <= 1:
                raise LastAdmin()
        audit: dict[str, object] = {}
        if "full_name" in changes:
            user.full_name = changes["full_name"]
        if "role" in changes and changes["role"] != user.role:
            audit["role"] = {"old": user.role, "new": changes["role"].value}
            user.role = changes["role"].value
            user.is_operator = user.is_operator and user.role == Role.ADMIN
        if "password" in changes:
            check_password(
                changes["password"], email=user.email, min_length=self.settings.password_min_length
            )
            user.password_hash = await self.passwords.hash(changes["password"])
            user.password_changed_at = utcnow()
            await SessionRepository(self.session).revoke_all_for_user(
                user.id, "password_reset", utcnow()
            )
            revoked = await ApiKeyRepository(self.session).revoke_all_for_user(user.id, utcnow())
            audit["password_reset"] = True
            audit["api_keys_revoked"] = revoked
        if "is_active" in changes and changes["is_active"] != user.is_active:
            user.is_active = changes["is_active"]
            audit["is_active"] = user.is_active
            if not user.is_active:
                await SessionRepository(self.session).revoke_all_for_user(
                    user.id, "deactivated", utcnow()
                )
        await self.session.flush()
        if audit.keys() & {"role", "is_active", "password_reset"}:
            access_changed(self.session, user.organization_id, user_id=user.id)
        event = "user.role_changed" if "role" in audit else "user.updated"
        await record(self.session, event, principal, resource=("user", user.id), details=audit)
        return user

    async def deactivate(self, principal: Principal, user_id: str) -> None:
        await self.update(principal, user_id, UserUpdate(is_active=False))


async def create_user_from_cli(
    session: AsyncSession,
    settings: Settings,
    *,
    email: str,
    full_name: str,
    role: Role,
    password: str,
    organization_id: str | None,
    new_organization: str | None,
) -> User:
    """Operator path (no principal): add a user to an organization, or bootstrap a new one."""
    from lexbase.auth.models import Organization

    check_password(password, email=email, min_length=settings.password_min_length)
    users = UserRepository(session)
    organizations = OrganizationRepository(session)
    if new_organization is not None:
        organization = await organizations.add(Organization(name=new_organization))
        await record(
            session,
            "organization.created",
            organization_id=organization.id,
            actor_type="cli",
            resource=("organization", organization.id),
            details={"name": new_organization},
        )
    else:
        found = await organizations.get(organization_id or "")
        if found is None:
            raise OrganizationNotFound()
        organization = found
        if await users.by_email(organization.id, email) is not None:
            raise EmailTaken()
    user = await users.add(
        User(
            organization_id=organization.id,
            email=email,
            full_name=full_name,
            role=role.value,
            password_hash=hash_password(password),
        )
    )
    await record(
        session,
        "user.created",
        organization_id=organization.id,
        actor_type="cli",
        resource=("user", user.id),
        details={"email": email, "role": role.value},
    )
    return user


async def set_operator_from_cli(
    session: AsyncSession, email: str, organization_id: str, operator: bool
) -> None:
    """Operator path: grant or take away the view of server-level health. Only admins may
    hold it, and only the command line gives it."""
    user = await UserRepository(session).by_email(organization_id, email)
    if user is None:
        raise UserNotFound()
    if operator and user.role != Role.ADMIN:
        raise NotAnAdmin()
    user.is_operator = operator
    await record(
        session,
        "user.operator_changed",
        organization_id=user.organization_id,
        actor_type="cli",
        resource=("user", user.id),
        details={"is_operator": operator},
    )
