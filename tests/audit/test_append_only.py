"""The application's own connections cannot rewrite or delete audit history."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, update
from sqlalchemy.exc import DBAPIError

from lexbase.audit.models import AuditEvent
from lexbase.core.db import transaction
from tests.audit.conftest import AuditLog
from tests.factories import Tenant


async def test_update_and_delete_are_refused(audit_log: AuditLog, tenant: Tenant) -> None:
    event = await audit_log.record(tenant.organization_id, "matter.created")
    with pytest.raises(DBAPIError, match="append-only"):
        async with transaction(audit_log.sessionmaker) as session:
            await session.execute(
                update(AuditEvent).where(AuditEvent.id == event.id).values(event_type="x")
            )
    with pytest.raises(DBAPIError, match="append-only"):
        async with transaction(audit_log.sessionmaker) as session:
            await session.execute(delete(AuditEvent).where(AuditEvent.id == event.id))
    rows = await audit_log.rows(tenant.organization_id)
    assert [(r.id, r.event_type) for r in rows] == [(event.id, "matter.created")]
    assert (await audit_log.verify(tenant.organization_id)).valid
