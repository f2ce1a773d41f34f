"""HTTP routes of the matters domain: clients, matters and their ethical walls."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, status

from lexbase.auth.deps import Reader, WallManager, Writer
from lexbase.core.deps import SessionDep
from lexbase.core.pagination import Page, PageDep
from lexbase.matters import service
from lexbase.matters.schemas import (
    ClientCreate,
    ClientOut,
    ClientUpdate,
    MatterCreate,
    MatterDetail,
    MatterFilters,
    MatterOut,
    MatterUpdate,
    MemberAdd,
    MemberOut,
)

router = APIRouter(tags=["matters"])

_ERROR: dict[str, Any] = {"description": "Error envelope"}
_READ_ERRORS: dict[int | str, dict[str, Any]] = {404: _ERROR}
_WRITE_ERRORS: dict[int | str, dict[str, Any]] = {403: _ERROR, 404: _ERROR}
NameFilter = Annotated[str | None, Query(min_length=1, max_length=200, description="Part of name")]


@router.post("/clients", status_code=status.HTTP_201_CREATED, responses={403: _ERROR})
async def create_client(data: ClientCreate, principal: Writer, session: SessionDep) -> ClientOut:
    return await service.create_client(session, principal, data)


@router.get("/clients")
async def list_clients(
    principal: Reader, session: SessionDep, page: PageDep, q: NameFilter = None
) -> Page[ClientOut]:
    return await service.list_clients(session, principal, page, q)


@router.get("/clients/{client_id}", responses=_READ_ERRORS)
async def get_client(client_id: str, principal: Reader, session: SessionDep) -> ClientOut:
    return await service.get_client(session, principal, client_id)


@router.patch("/clients/{client_id}", responses=_WRITE_ERRORS)
async def update_client(
    client_id: str, data: ClientUpdate, principal: Writer, session: SessionDep
) -> ClientOut:
    return await service.update_client(session, principal, client_id, data)


@router.delete(
    "/clients/{client_id}", status_code=status.HTTP_204_NO_CONTENT, responses=_WRITE_ERRORS
)
async def delete_client(client_id: str, principal: Writer, session: SessionDep) -> None:
    """Admins only. Matters of the client stay, with `client_id` set to null."""
    await service.delete_client(session, principal, client_id)


@router.post("/matters", status_code=status.HTTP_201_CREATED, responses={403: _ERROR})
async def create_matter(data: MatterCreate, principal: Writer, session: SessionDep) -> MatterDetail:
    """A restricted matter needs the manage-walls permission; its creator becomes a member."""
    return await service.create_matter(session, principal, data)


@router.get("/matters")
async def list_matters(
    principal: Reader,
    session: SessionDep,
    page: PageDep,
    filters: Annotated[MatterFilters, Query()],
) -> Page[MatterOut]:
    return await service.list_matters(session, principal, page, filters)


@router.get("/matters/{matter_id}", responses=_READ_ERRORS)
async def get_matter(matter_id: str, principal: Reader, session: SessionDep) -> MatterDetail:
    return await service.get_matter(session, principal, matter_id)


@router.patch("/matters/{matter_id}", responses=_WRITE_ERRORS)
async def update_matter(
    matter_id: str, data: MatterUpdate, principal: Writer, session: SessionDep
) -> MatterDetail:
    """Changing `restricted` needs the manage-walls permission."""
    return await service.update_matter(session, principal, matter_id, data)


@router.delete(
    "/matters/{matter_id}", status_code=status.HTTP_204_NO_CONTENT, responses=_WRITE_ERRORS
)
async def delete_matter(matter_id: str, principal: WallManager, session: SessionDep) -> None:
    await service.delete_matter(session, principal, matter_id)


@router.post(
    "/matters/{matter_id}/members",
    status_code=status.HTTP_201_CREATED,
    responses={**_WRITE_ERRORS, 409: _ERROR},
)
async def add_member(
    matter_id: str, data: MemberAdd, principal: WallManager, session: SessionDep
) -> MemberOut:
    return await service.add_member(session, principal, matter_id, data)


@router.delete(
    "/matters/{matter_id}/members/{user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=_WRITE_ERRORS,
)
async def remove_member(
    matter_id: str, user_id: str, principal: WallManager, session: SessionDep
) -> None:
    await service.remove_member(session, principal, matter_id, user_id)
