"""HTTP routes for managing an organization's users (admins), and its directory (everyone)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from lexbase.auth.deps import Reader, UserManager
from lexbase.core.deps import ResourcesDep, SessionDep
from lexbase.core.pagination import Page, PageDep
from lexbase.core.permissions import Role
from lexbase.users.schemas import UserCreate, UserOut, UserUpdate
from lexbase.users.service import UserService

router = APIRouter(prefix="/users", tags=["users"])


async def user_service(session: SessionDep, resources: ResourcesDep) -> UserService:
    return UserService(session, resources.settings, resources.passwords)


Users = Annotated[UserService, Depends(user_service)]


@router.post("", response_model=UserOut, status_code=status.HTTP_201_CREATED)
async def create_user(body: UserCreate, principal: UserManager, users: Users) -> UserOut:
    return UserOut.model_validate(await users.create(principal, body))


@router.get("", response_model=Page[UserOut])
async def list_users(
    principal: Reader,
    users: Users,
    page: PageDep,
    role: Role | None = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    is_active: bool | None = None,
) -> Page[UserOut]:
    items, total = await users.list(principal, page, role, q, is_active)
    return Page(
        items=[UserOut.model_validate(u) for u in items],
        total=total,
        next_cursor=page.next_cursor(total),
    )


@router.get("/{user_id}", response_model=UserOut)
async def get_user(user_id: str, principal: Reader, users: Users) -> UserOut:
    return UserOut.model_validate(await users.get(principal, user_id))


@router.patch("/{user_id}", response_model=UserOut)
async def update_user(
    user_id: str, body: UserUpdate, principal: UserManager, users: Users
) -> UserOut:
    return UserOut.model_validate(await users.update(principal, user_id, body))


@router.delete("/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
async def deactivate_user(user_id: str, principal: UserManager, users: Users) -> Response:
    """Deactivate the user (kept for the audit trail) and end all their sessions."""
    await users.deactivate(principal, user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
