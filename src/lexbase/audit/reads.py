"""Who read which document, recorded off the request path.

Opening a document by id and reading its content (`/text`, `/file`, `/chunks`, `/citations`)
is audited as `document.read`. Appending to the hash chain inside each read would turn every
GET into a write transaction (on SQLite, a wait for the one writer), so reads are noted in
memory and written in batches: every `flush_seconds`, or as soon as `batch` reads are
waiting, in one transaction, one event per (user, document, what was read) with how many
times and between when. What a crash can lose is the last `flush_seconds` of notes; a flush
that fails (the database is away) keeps its notes for the next one, up to a bound.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from lexbase.audit.service import record
from lexbase.core.context import current_request
from lexbase.core.db import transaction, utcnow
from lexbase.core.principal import Principal

log = structlog.get_logger(__name__)

READ_EVENT = "document.read"
_KEPT_REQUEST_IDS = 5


@dataclass(frozen=True)
class ReadNote:
    organization_id: str
    user_id: str
    actor_type: str
    api_key_id: str | None
    document_id: str
    what: str  # "document" | "text" | "file" | "chunks" | "citations"
    at: datetime
    request_id: str | None
    client_request_id: str | None
    ip: str | None

    @property
    def group(self) -> tuple[str, str, str, str | None, str, str]:
        return (
            self.organization_id,
            self.user_id,
            self.actor_type,
            self.api_key_id,
            self.document_id,
            self.what,
        )


class ReadAudit:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        flush_seconds: float,
        batch: int = 500,
        max_pending: int = 100_000,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.flush_seconds = flush_seconds
        self.batch = batch
        self.max_pending = max_pending
        self._pending: list[ReadNote] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def note(self, principal: Principal, document_id: str, what: str) -> None:
        """Remember one read (cheap: no I/O)."""
        context = current_request()
        self._pending.append(
            ReadNote(
                organization_id=principal.organization_id,
                user_id=principal.user_id,
                actor_type=principal.actor_type,
                api_key_id=principal.api_key_id,
                document_id=document_id,
                what=what,
                at=utcnow(),
                request_id=context.request_id,
                client_request_id=context.client_request_id,
                ip=context.ip,
            )
        )
        if len(self._pending) >= self.batch:
            self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="read-audit")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.flush()

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.flush_seconds)
            self._wake.clear()
            await self.flush()

    async def flush(self) -> int:
        """Write what is waiting; how many events were written."""
        notes, self._pending = self._pending, []
        if not notes:
            return 0
        groups: dict[tuple[str, str, str, str | None, str, str], list[ReadNote]] = {}
        for note in notes:
            groups.setdefault(note.group, []).append(note)
        try:
            async with transaction(self.sessionmaker) as session:
                for group in groups.values():
                    await _record(session, group)
        except Exception as exc:  # the database is away: keep the notes for the next flush
            self._pending = (notes + self._pending)[-self.max_pending :]
            log.warning(
                "audit.reads_not_written",
                pending=len(self._pending),
                error_type=type(exc).__name__,
            )
            return 0
        return len(groups)


async def _record(session: AsyncSession, notes: list[ReadNote]) -> None:
    first = notes[0]
    request_ids = list(dict.fromkeys(n.request_id for n in notes if n.request_id))
    client_ids = list(dict.fromkeys(n.client_request_id for n in notes if n.client_request_id))
    details: dict[str, object] = {
        "what": first.what,
        "count": len(notes),
        "first_at": notes[0].at.isoformat(),
        "last_at": notes[-1].at.isoformat(),
        "request_ids": request_ids[:_KEPT_REQUEST_IDS],
        "ips": sorted(Counter(n.ip for n in notes if n.ip))[:_KEPT_REQUEST_IDS],
    }
    if client_ids:
        details["client_request_ids"] = client_ids[:_KEPT_REQUEST_IDS]
    if first.api_key_id:
        details["api_key_id"] = first.api_key_id
    await record(
        session,
        READ_EVENT,
        organization_id=first.organization_id,
        actor_id=first.user_id,
        actor_type=first.actor_type,
        resource=("document", first.document_id),
        details=details,
    )
