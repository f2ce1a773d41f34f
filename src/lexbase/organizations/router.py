"""HTTP routes of the caller's own organization."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from lexbase.auth.deps import OrganizationManager, Reader
from lexbase.core.deps import SessionDep, SettingsDep
from lexbase.organizations import service
from lexbase.organizations.schemas import OrganizationOut, OrganizationUpdate

router = APIRouter(prefix="/organization", tags=["organization"])

_ERROR: dict[str, Any] = {"description": "Error envelope"}


@router.get("")
async def get_organization(
    principal: Reader, session: SessionDep, settings: SettingsDep
) -> OrganizationOut:
    return await service.get_organization(session, settings, principal)


@router.patch("", responses={403: _ERROR, 422: _ERROR})
async def update_organization(
    body: OrganizationUpdate,
    principal: OrganizationManager,
    session: SessionDep,
    settings: SettingsDep,
) -> OrganizationOut:
    return await service.update_organization(session, settings, principal, body)
