"""GET /audit/verify and `verify_chain`: tampering with stored rows is detected and located.

The walk goes by seq and stops at the first fault; per event it checks, in order, that seq is
the next one, that the row is not past the chain head, that prev_hash names the previous row's
stored hash, and that the row's fields still produce its hash. The head then has to match the
newest row. `events_checked` counts the failing event.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest

from lexbase.audit.chain import HASHED_FIELDS, event_hash
from lexbase.audit.models import SYSTEM_CHAIN, AuditEvent
from lexbase.audit.service import ChainFault, record
from lexbase.core.db import transaction
from tests.audit.conftest import AuditLog
from tests.factories import Tenant

VERIFY = "/api/v1/audit/verify"


async def _verify(client: httpx.AsyncClient, tenant: Tenant) -> dict[str, Any]:
    response = await client.get(VERIFY, headers=tenant.admin.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _rehashed(event: AuditEvent, **changes: Any) -> dict[str, Any]:
    """The changed fields plus a hash recomputed over them: a forger who knows the scheme."""
    fields = {name: getattr(event, name) for name in HASHED_FIELDS} | changes
    return {**changes, "hash": event_hash(fields)}


async def test_clean_chain_is_valid(
    client: httpx.AsyncClient, tenant: Tenant, audit_log: AuditLog
) -> None:
    await audit_log.record_many(tenant.organization_id, 6)

    assert await _verify(client, tenant) == {
        "valid": True,
        "events_checked": 6,
        "first_invalid_id": None,
        "reason": None,
        "detail": None,
    }


async def test_empty_chain_is_valid(client: httpx.AsyncClient, tenant: Tenant) -> None:
    body = await _verify(client, tenant)

    assert (body["valid"], body["events_checked"], body["first_invalid_id"]) == (True, 0, None)


Tamper = Callable[[AuditEvent], dict[str, Any]]


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        pytest.param(lambda e: {"details": {"n": 999}}, "hash_mismatch", id="details"),
        pytest.param(lambda e: {"event_type": "matter.viewed"}, "hash_mismatch", id="event_type"),
        pytest.param(lambda e: {"actor_id": "someone-else"}, "hash_mismatch", id="actor_id"),
        pytest.param(lambda e: {"resource_id": "m-2"}, "hash_mismatch", id="resource_id"),
        pytest.param(
            lambda e: {"created_at": e.created_at - timedelta(days=1)},
            "hash_mismatch",
            id="created_at",
        ),
        pytest.param(lambda e: {"hash": "e" * 64}, "hash_mismatch", id="hash"),
        pytest.param(lambda e: {"prev_hash": "f" * 64}, "broken_link", id="prev_hash"),
    ],
)
async def test_an_edited_row_is_the_first_invalid(
    client: httpx.AsyncClient, tenant: Tenant, audit_log: AuditLog, tamper: Tamper, reason: str
) -> None:
    events = await audit_log.record_many(tenant.organization_id, 5)
    target = events[2]

    await audit_log.update(target.id, **tamper(target))

    body = await _verify(client, tenant)
    assert body["valid"] is False
    assert body["first_invalid_id"] == target.id
    assert body["reason"] == reason
    assert body["events_checked"] == 3


async def test_a_deleted_middle_row_flags_its_successor(
    client: httpx.AsyncClient, tenant: Tenant, audit_log: AuditLog
) -> None:
    events = await audit_log.record_many(tenant.organization_id, 5)

    await audit_log.delete(events[2].id)

    body = await _verify(client, tenant)
    assert body["valid"] is False
    assert body["first_invalid_id"] == events[3].id
    assert body["reason"] == "sequence_gap"
    assert body["detail"] == "expected seq 3, found seq 4"
    assert body["events_checked"] == 3


async def test_a_deleted_newest_row_breaks_the_head(
    client: httpx.AsyncClient, tenant: Tenant, audit_log: AuditLog
) -> None:
    events = await audit_log.record_many(tenant.organization_id, 5)

    await audit_log.delete(events[-1].id)

    # Rows 1-4 are intact on their own; only the head still remembers seq 5, so no row is
    # to blame.
    assert await _verify(client, tenant) == {
        "valid": False,
        "events_checked": 4,
        "first_invalid_id": None,
        "reason": "head_mismatch",
        "detail": "the chain head is at seq 5 but the newest event is seq 4",
    }


async def test_a_rewritten_and_rehashed_row_is_caught_by_its_successor(
    client: httpx.AsyncClient, tenant: Tenant, audit_log: AuditLog
) -> None:
    events = await audit_log.record_many(tenant.organization_id, 5)

    await audit_log.update(events[2].id, **_rehashed(events[2], details={"n": 999}))

    # Row 3 is self-consistent again, so it passes; row 4's prev_hash still names the original
    # hash of row 3, and that link is the first thing that fails.
    body = await _verify(client, tenant)
    assert body["valid"] is False
    assert body["first_invalid_id"] == events[3].id
    assert body["reason"] == "broken_link"
    assert body["events_checked"] == 4


async def test_a_rewritten_and_rehashed_newest_row_is_caught_by_the_head(
    client: httpx.AsyncClient, tenant: Tenant, audit_log: AuditLog
) -> None:
    events = await audit_log.record_many(tenant.organization_id, 3)

    await audit_log.update(events[-1].id, **_rehashed(events[-1], event_type="matter.viewed"))

    body = await _verify(client, tenant)
    assert body["valid"] is False
    assert body["first_invalid_id"] == events[-1].id
    assert body["reason"] == "head_mismatch"
    assert body["events_checked"] == 3


async def test_a_forged_row_past_the_head_is_caught(
    client: httpx.AsyncClient, tenant: Tenant, audit_log: AuditLog
) -> None:
    events = await audit_log.record_many(tenant.organization_id, 3)
    fields = {name: getattr(events[-1], name) for name in HASHED_FIELDS} | {
        "id": "forged-0000-0000-0000-000000000000",
        "seq": 4,
        "prev_hash": events[-1].hash,
        "event_type": "matter.deleted",
    }
    async with transaction(audit_log.sessionmaker) as session:
        session.add(AuditEvent(**fields, hash=event_hash(fields)))

    body = await _verify(client, tenant)
    assert body["valid"] is False
    assert body["first_invalid_id"] == fields["id"]
    assert body["reason"] == "beyond_head"
    assert body["events_checked"] == 4


async def test_verification_spans_batches(tenant: Tenant, audit_log: AuditLog) -> None:
    events = await audit_log.record_many(tenant.organization_id, 7)
    clean = await audit_log.verify(tenant.organization_id, batch_size=2)
    assert (clean.valid, clean.events_checked) == (True, 7)

    await audit_log.update(events[4].id, details={"n": 0})

    tampered = await audit_log.verify(tenant.organization_id, batch_size=2)
    assert (tampered.valid, tampered.first_invalid_id) == (False, events[4].id)
    assert (tampered.reason, tampered.events_checked) == (ChainFault.HASH_MISMATCH, 5)


async def test_concurrent_appends_neither_fork_nor_skip(
    client: httpx.AsyncClient, tenant: Tenant, audit_log: AuditLog
) -> None:
    events = await asyncio.gather(
        *(audit_log.record(tenant.organization_id, details={"writer": n}) for n in range(20))
    )

    rows = await audit_log.rows(tenant.organization_id)
    assert [row.seq for row in rows] == list(range(1, 21))
    assert {row.id for row in rows} == {event.id for event in events}
    assert sorted(row.details["writer"] for row in rows) == list(range(20))
    assert all(later.prev_hash == earlier.hash for earlier, later in itertools.pairwise(rows))
    body = await _verify(client, tenant)
    assert (body["valid"], body["events_checked"]) == (True, 20)


async def test_each_organization_has_its_own_chain(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant, audit_log: AuditLog
) -> None:
    ours, theirs = tenant.organization_id, other_tenant.organization_id
    for _ in range(3):
        await audit_log.record(ours)
        await audit_log.record(theirs)
    await asyncio.gather(*(audit_log.record(org) for org in [ours, theirs] * 5))

    for organization_id in (ours, theirs):
        rows = await audit_log.rows(organization_id)
        assert [row.seq for row in rows] == list(range(1, 9))
        assert {row.organization_id for row in rows} == {organization_id}
    assert (await _verify(client, tenant))["events_checked"] == 8

    await audit_log.update((await audit_log.rows(ours))[0].id, event_type="forged")

    assert (await _verify(client, tenant))["valid"] is False
    assert await _verify(client, other_tenant) == {
        "valid": True,
        "events_checked": 8,
        "first_invalid_id": None,
        "reason": None,
        "detail": None,
    }


async def test_a_rolled_back_append_leaves_no_gap(tenant: Tenant, audit_log: AuditLog) -> None:
    await audit_log.record(tenant.organization_id)
    with pytest.raises(RuntimeError):
        async with transaction(audit_log.sessionmaker) as session:
            await record(session, "matter.created", organization_id=tenant.organization_id)
            raise RuntimeError("the action being audited failed")
    after = await audit_log.record(tenant.organization_id)

    assert after.seq == 2
    result = await audit_log.verify(tenant.organization_id)
    assert (result.valid, result.events_checked) == (True, 2)


async def test_system_chain_verifies_and_stays_out_of_organizations(
    client: httpx.AsyncClient, tenant: Tenant, audit_log: AuditLog
) -> None:
    async with transaction(audit_log.sessionmaker) as session:
        system_event = await record(session, "system.started")
    assert (system_event.chain, system_event.organization_id) == (SYSTEM_CHAIN, None)

    result = await audit_log.verify(SYSTEM_CHAIN)
    assert (result.valid, result.events_checked) == (True, 1)
    listed = await client.get("/api/v1/audit/events", headers=tenant.admin.headers)
    assert listed.json()["total"] == 0
