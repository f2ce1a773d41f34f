"""Recording, reading and verifying audit events.

    await record(session, "matter.created", principal, resource=("matter", matter.id))

An event commits or rolls back together with the action it records.
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterable, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from lexbase.audit.chain import HASHED_FIELDS, event_hash
from lexbase.audit.models import GENESIS_HASH, SYSTEM_CHAIN, AuditEvent
from lexbase.audit.repository import STREAM_BATCH_SIZE, AuditRepository
from lexbase.core.context import current_request
from lexbase.core.db import new_id, utcnow
from lexbase.core.principal import Principal

if TYPE_CHECKING:
    from sqlalchemy import Select

log = structlog.get_logger(__name__)


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
    if context.client_request_id is not None:
        fields["details"] = {**fields["details"], "client_request_id": context.client_request_id}
    event = AuditEvent(**fields, hash=event_hash(fields))
    return await repository.append(head, event)


@dataclass(frozen=True)
class AuditFilters:
    """What a reader narrows the organization's trail to; `end` is exclusive."""

    start: datetime | None = None
    end: datetime | None = None
    event_type: str | None = None
    user_id: str | None = None
    resource_id: str | None = None


def filtered_statement(
    repository: AuditRepository, principal: Principal, filters: AuditFilters
) -> Select[AuditEvent]:
    return repository.filtered(
        principal,
        start=filters.start,
        end=filters.end,
        event_type=filters.event_type,
        user_id=filters.user_id,
        resource_id=filters.resource_id,
    )


async def list_events(
    session: AsyncSession,
    principal: Principal,
    filters: AuditFilters,
    *,
    limit: int,
    offset: int,
) -> tuple[Sequence[AuditEvent], int]:
    """A page of the caller's organization's events, newest (highest seq) first, and the total."""
    repository = AuditRepository(session)
    statement = filtered_statement(repository, principal, filters)
    return await repository.newest_first(statement, limit=limit, offset=offset)


class ChainFault(enum.StrEnum):
    SEQUENCE_GAP = "sequence_gap"  # a row before this one is missing, or seq was altered
    BEYOND_HEAD = "beyond_head"  # a row the chain head never recorded was inserted
    BROKEN_LINK = "broken_link"  # prev_hash is not the previous row's stored hash
    HASH_MISMATCH = "hash_mismatch"  # the stored fields no longer produce the stored hash
    HEAD_MISMATCH = "head_mismatch"  # the newest rows are gone, or the newest was rewritten


@dataclass(frozen=True)
class ChainVerification:
    """The outcome of walking a chain. `events_checked` counts the failing event too."""

    valid: bool
    events_checked: int
    first_invalid_id: str | None = None
    reason: ChainFault | None = None
    detail: str | None = None


def _hashed_fields(event: AuditEvent) -> dict[str, Any]:
    return {name: getattr(event, name) for name in HASHED_FIELDS}


def _fault(
    event: AuditEvent, expected_seq: int, previous_hash: str, head_seq: int
) -> tuple[ChainFault, str] | None:
    if event.seq != expected_seq:
        return ChainFault.SEQUENCE_GAP, f"expected seq {expected_seq}, found seq {event.seq}"
    if event.seq > head_seq:
        return ChainFault.BEYOND_HEAD, f"seq {event.seq} is past the chain head (seq {head_seq})"
    if event.prev_hash != previous_hash:
        return (
            ChainFault.BROKEN_LINK,
            f"prev_hash of seq {event.seq} does not match seq {event.seq - 1}",
        )
    if event_hash(_hashed_fields(event)) != event.hash:
        return ChainFault.HASH_MISMATCH, f"the fields of seq {event.seq} do not produce its hash"
    return None


async def check_chain(
    events: AsyncIterable[AuditEvent], *, head_seq: int, head_hash: str
) -> ChainVerification:
    """Check events given in seq order against each other and against the chain head.

    Each event must carry the next seq (from 1), link to its predecessor's stored hash (the
    genesis hash for seq 1), and still hash to its stored hash. Because the check stops at the
    first fault, a rewritten row whose hash was recomputed shows up at its successor, whose
    prev_hash still names the original. The head then catches missing or rewritten newest rows.
    """
    checked = 0
    previous_hash = GENESIS_HASH
    last: AuditEvent | None = None
    async for event in events:
        checked += 1
        fault = _fault(event, checked, previous_hash, head_seq)
        if fault is not None:
            return ChainVerification(False, checked, event.id, *fault)
        previous_hash = event.hash
        last = event
    if checked < head_seq:
        detail = f"the chain head is at seq {head_seq} but the newest event is seq {checked}"
        return ChainVerification(False, checked, None, ChainFault.HEAD_MISMATCH, detail)
    if previous_hash != head_hash:
        detail = f"the hash of seq {checked} differs from the chain head's"
        return ChainVerification(
            False, checked, last.id if last else None, ChainFault.HEAD_MISMATCH, detail
        )
    return ChainVerification(True, checked)


async def verify_chain(
    session: AsyncSession, chain: str, *, batch_size: int = STREAM_BATCH_SIZE
) -> ChainVerification:
    """Verify one chain (an organization id or `SYSTEM_CHAIN`) end to end."""
    repository = AuditRepository(session)
    tip = await repository.tip(chain)
    # Walk only as far as the snapshot the head was read in: events appended meanwhile are
    # newer than the head we compare against and would otherwise read as forged.
    statement = repository.chain_statement(chain, through=tip.last_seq or 0)
    async with aclosing(repository.stream(statement, batch_size)) as events:
        result = await check_chain(
            events, head_seq=tip.head_seq or 0, head_hash=tip.head_hash or GENESIS_HASH
        )
    if result.valid:
        log.info("audit.chain_verified", chain=chain, events_checked=result.events_checked)
    else:
        log.warning(
            "audit.chain_invalid",
            chain=chain,
            events_checked=result.events_checked,
            first_invalid_id=result.first_invalid_id,
            reason=result.reason,
        )
    return result


async def verify_all_chains(session: AsyncSession) -> dict[str, ChainVerification]:
    """Every chain in the database (each organization's and the system chain)."""
    return {
        chain: await verify_chain(session, chain)
        for chain in await AuditRepository(session).chains()
    }
