"""Rules of clients, matters and ethical walls.

Every lookup goes through the caller's scope, so a walled or foreign matter is "not found"
before any permission is weighed. Every mutation is audited in the request's transaction:
the event commits or rolls back with the change it records.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from lexbase.audit.service import record
from lexbase.core.events import access_changed
from lexbase.core.pagination import Page, PageParams
from lexbase.core.permissions import Permission
from lexbase.core.principal import Principal
from lexbase.matters.errors import (
    ClientDeletionForbidden,
    ClientNotFound,
    MatterHasDocuments,
    MatterNotFound,
    MemberAlreadyExists,
    MemberNotFound,
    UnknownClient,
    UnknownUser,
    WallChangeForbidden,
)
from lexbase.matters.models import Client, Matter
from lexbase.matters.repository import ClientRepository, MatterMemberRepository, MatterRepository
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
from lexbase.users.repository import UserRepository


def _changed(instance: object, values: dict[str, Any]) -> dict[str, Any]:
    """The subset of `values` that differs from the instance, so no-op patches leave no
    audit noise and no new `updated_at`."""
    return {key: value for key, value in values.items() if getattr(instance, key) != value}


# --- clients -------------------------------------------------------------------------------


async def _client(session: AsyncSession, principal: Principal, client_id: str) -> Client:
    client = await ClientRepository(session).get_for(principal, client_id)
    if client is None:
        raise ClientNotFound()
    return client


async def create_client(
    session: AsyncSession, principal: Principal, data: ClientCreate
) -> ClientOut:
    client = Client(organization_id=principal.organization_id, **data.model_dump())
    await ClientRepository(session).add(client)
    await record(
        session,
        "client.created",
        principal,
        resource=("client", client.id),
        details={"name": client.name},
    )
    return ClientOut.model_validate(client)


async def list_clients(
    session: AsyncSession, principal: Principal, page: PageParams, q: str | None
) -> Page[ClientOut]:
    repository = ClientRepository(session)
    clients, total = await repository.paginate(
        repository.search(principal, q=q), limit=page.limit, offset=page.offset
    )
    return Page[ClientOut](
        items=[ClientOut.model_validate(client) for client in clients],
        total=total,
        next_cursor=page.next_cursor(total),
    )


async def get_client(session: AsyncSession, principal: Principal, client_id: str) -> ClientOut:
    return ClientOut.model_validate(await _client(session, principal, client_id))


async def update_client(
    session: AsyncSession, principal: Principal, client_id: str, data: ClientUpdate
) -> ClientOut:
    client = await _client(session, principal, client_id)
    changes = _changed(client, data.changes())
    if changes:
        await ClientRepository(session).update(client, changes)
        await record(
            session,
            "client.updated",
            principal,
            resource=("client", client.id),
            details={"fields": sorted(changes)},
        )
    return ClientOut.model_validate(client)


async def delete_client(session: AsyncSession, principal: Principal, client_id: str) -> None:
    # Deleting a client detaches every matter filed under it, so it is an admin decision.
    if not principal.is_admin:
        raise ClientDeletionForbidden()
    client = await _client(session, principal, client_id)
    await ClientRepository(session).delete(client)
    await record(
        session,
        "client.deleted",
        principal,
        resource=("client", client.id),
        details={"name": client.name},
    )


# --- matters -------------------------------------------------------------------------------


async def _matter(session: AsyncSession, principal: Principal, matter_id: str) -> Matter:
    matter = await MatterRepository(session).get_for(principal, matter_id)
    if matter is None:
        raise MatterNotFound()
    return matter


async def _require_client(session: AsyncSession, principal: Principal, client_id: str) -> None:
    if await ClientRepository(session).get_for(principal, client_id) is None:
        raise UnknownClient()


def _require_wall_permission(principal: Principal) -> None:
    if not principal.can(Permission.MANAGE_WALLS):
        raise WallChangeForbidden()


async def _detail(session: AsyncSession, matter: Matter) -> MatterDetail:
    members = await MatterMemberRepository(session).members(matter.id)
    return MatterDetail.with_members(matter, members)


async def create_matter(
    session: AsyncSession, principal: Principal, data: MatterCreate
) -> MatterDetail:
    if data.restricted:
        _require_wall_permission(principal)
    if data.client_id is not None:
        await _require_client(session, principal, data.client_id)
    matter = Matter(
        organization_id=principal.organization_id,
        created_by=principal.user_id,
        **data.model_dump(),
    )
    await MatterRepository(session).add(matter)
    await record(
        session,
        "matter.created",
        principal,
        resource=("matter", matter.id),
        details={
            "name": matter.name,
            "client_id": matter.client_id,
            "restricted": matter.restricted,
        },
    )
    if matter.restricted:
        await _join_wall(session, principal, matter)
    return await _detail(session, matter)


async def list_matters(
    session: AsyncSession, principal: Principal, page: PageParams, filters: MatterFilters
) -> Page[MatterOut]:
    repository = MatterRepository(session)
    statement = repository.search(
        principal,
        q=filters.q,
        client_id=filters.client_id,
        status=filters.status,
        restricted=filters.restricted,
    )
    matters, total = await repository.paginate(statement, limit=page.limit, offset=page.offset)
    counts = await MatterMemberRepository(session).counts([matter.id for matter in matters])
    return Page[MatterOut](
        items=[MatterOut.of(matter, counts.get(matter.id, 0)) for matter in matters],
        total=total,
        next_cursor=page.next_cursor(total),
    )


async def get_matter(session: AsyncSession, principal: Principal, matter_id: str) -> MatterDetail:
    return await _detail(session, await _matter(session, principal, matter_id))


async def update_matter(
    session: AsyncSession, principal: Principal, matter_id: str, data: MatterUpdate
) -> MatterDetail:
    matter = await _matter(session, principal, matter_id)
    changes = _changed(matter, data.changes())
    wall_changed = "restricted" in changes
    if wall_changed:
        _require_wall_permission(principal)
    if changes.get("client_id") is not None:
        await _require_client(session, principal, changes["client_id"])
    if not changes:
        return await _detail(session, matter)

    await MatterRepository(session).update(matter, changes)
    fields = sorted(changes.keys() - {"restricted"})
    if fields:
        await record(
            session,
            "matter.updated",
            principal,
            resource=("matter", matter.id),
            details={"fields": fields},
        )
    if wall_changed:
        access_changed(session, matter.organization_id, matter_id=matter.id)
        await record(
            session,
            "matter.wall_changed",
            principal,
            resource=("matter", matter.id),
            details={"old": not matter.restricted, "new": matter.restricted},
        )
        # Admins see every matter anyway; anyone else would wall themselves out.
        if matter.restricted and not principal.is_admin:
            await _join_wall(session, principal, matter)
    return await _detail(session, matter)


async def delete_matter(session: AsyncSession, principal: Principal, matter_id: str) -> None:
    matter = await _matter(session, principal, matter_id)
    if await MatterRepository(session).document_count(matter.id) > 0:
        raise MatterHasDocuments()
    await MatterRepository(session).delete(matter)
    access_changed(session, matter.organization_id, matter_id=matter.id)
    await record(
        session,
        "matter.deleted",
        principal,
        resource=("matter", matter.id),
        details={"name": matter.name},
    )


# --- members -------------------------------------------------------------------------------


async def _join_wall(session: AsyncSession, principal: Principal, matter: Matter) -> None:
    """Make the acting user a member of a matter they just restricted."""
    added = await MatterMemberRepository(session).add_if_absent(
        matter.id, principal.user_id, added_by=principal.user_id
    )
    if added:
        await record(
            session,
            "matter.member_added",
            principal,
            resource=("matter", matter.id),
            details={"user_id": principal.user_id, "automatic": True},
        )


async def add_member(
    session: AsyncSession, principal: Principal, matter_id: str, data: MemberAdd
) -> MemberOut:
    matter = await _matter(session, principal, matter_id)
    user = await UserRepository(session).get_for(principal, data.user_id)
    if user is None or not user.is_active:
        raise UnknownUser()
    members = MatterMemberRepository(session)
    if not await members.add_if_absent(matter.id, user.id, added_by=principal.user_id):
        raise MemberAlreadyExists()
    access_changed(session, matter.organization_id, matter_id=matter.id, user_id=user.id)
    await record(
        session,
        "matter.member_added",
        principal,
        resource=("matter", matter.id),
        details={"user_id": user.id},
    )
    [member] = await members.members(matter.id, user_id=user.id)
    return MemberOut.model_validate(member)


async def remove_member(
    session: AsyncSession, principal: Principal, matter_id: str, user_id: str
) -> None:
    matter = await _matter(session, principal, matter_id)
    if not await MatterMemberRepository(session).remove(matter.id, user_id):
        raise MemberNotFound()
    access_changed(session, matter.organization_id, matter_id=matter.id, user_id=user_id)
    await record(
        session,
        "matter.member_removed",
        principal,
        resource=("matter", matter.id),
        details={"user_id": user_id},
    )
