"""Recording audit events: one call, inside the caller's transaction.

    await record(session, "matter.created", principal, resource=("matter", matter.id))

The event commits or rolls back together with the action it records.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from lexbase.audit.chain import event_hash
from lexbase.audit.models import SYSTEM_CHAIN, AuditEvent
from lexbase.audit.repository import AuditRepository
from lexbase.core.context import current_request
from lexbase.core.db import new_id, utcnow
from lexbase.core.principal import Principal


async def record(
    session: AsyncSession,
    event_type: str,
    principal: Principal | None = None,
    *,
    resource: tuple[str, str | None] | None = None,
    details: dict[str, Any] | None = None,
    organization_id: str | None = None,
    actor_id: str | None = None,
    actor_type: str | None = None,
) -> AuditEvent:
    """Append an event to its organization's chain (or the system chain)."""
    organization_id = organization_id or (principal.organization_id if principal else None)
    chain = organization_id or SYSTEM_CHAIN
    repository = AuditRepository(session)
    head = await repository.lock_head(chain)
    context = current_request()
    fields: dict[str, Any] = {
        "id": new_id(),
        "chain": chain,
        "seq": head.seq + 1,
        "organization_id": organization_id,
        "created_at": utcnow(),
        "event_type": event_type,
        "actor_id": actor_id or (principal.user_id if principal else None),
        "actor_type": actor_type or (principal.actor_type if principal else "system"),
        "resource_type": resource[0] if resource else None,
        "resource_id": resource[1] if resource else None,
        "ip": context.ip,
        "request_id": context.request_id,
        "details": details or {},
        "prev_hash": head.hash,
    }
    if principal is not None and principal.api_key_id:
        fields["details"] = {**fields["details"], "api_key_id": principal.api_key_id}
    event = AuditEvent(**fields, hash=event_hash(fields))
    return await repository.append(head, event)
