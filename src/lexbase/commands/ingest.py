"""Bulk ingestion from the command line: upload a folder tree as one user, then wait for it.

Every file goes through `DocumentService.upload` in its own write transaction, exactly as an
API upload does (sniffing, validation, de-duplication, audit event, job), so a bulk import can
store nothing the API would have refused. In embedded mode the same process runs the jobs.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib
import os
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

import structlog
from pydantic import TypeAdapter, ValidationError
from sqlalchemy.exc import IntegrityError

from lexbase.commands.progress import reporter_for as reporter_for  # re-exported for the CLI
from lexbase.core.config import Settings
from lexbase.core.db import transaction
from lexbase.core.errors import LexbaseError
from lexbase.core.permissions import Permission, Role
from lexbase.core.principal import Principal
from lexbase.core.resources import Resources
from lexbase.core.types import EmailAddress
from lexbase.documents.errors import DocumentNotFound
from lexbase.documents.schemas import UploadOut
from lexbase.documents.service import DocumentService, Upload
from lexbase.jobs.runner import JobRunner
from lexbase.matters.repository import MatterRepository
from lexbase.providers.resources import open_resources
from lexbase.users.repository import UserRepository

log = structlog.get_logger(__name__)

Status = Literal["indexed", "duplicate", "failed", "queued"]
POLL_SECONDS = 0.5


class IngestRefused(LexbaseError):
    """The run cannot start: the acting user or the target matter is unusable."""

    code = "ingest_refused"
    default_message = "Bulk ingestion refused"


@dataclass(frozen=True)
class IngestOptions:
    matter_id: str | None = None
    # Which of the address's accounts uploads, when it has one in several organizations.
    organization_id: str | None = None
    tags: tuple[str, ...] = ()
    concurrency: int = 4
    wait: bool = True
    timeout: float = 3600.0


@dataclass(frozen=True)
class FileOutcome:
    path: Path
    status: Status
    document_id: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class IngestSummary:
    files: tuple[FileOutcome, ...]
    seconds: float

    def count(self, status: Status) -> int:
        return sum(1 for outcome in self.files if outcome.status == status)

    @property
    def failures(self) -> tuple[FileOutcome, ...]:
        return tuple(outcome for outcome in self.files if outcome.status == "failed")

    @property
    def exit_code(self) -> int:
        return 1 if self.failures else 0

    def lines(self) -> list[str]:
        counts = (
            f"indexed {self.count('indexed')}, duplicate {self.count('duplicate')}, "
            f"failed {self.count('failed')}"
        )
        if queued := self.count("queued"):
            counts += f", queued {queued}"
        return [counts, *(f"FAILED {o.path}: {o.reason}" for o in self.failures)]


class Reporter(Protocol):
    def start(self, files: int, waiting: bool) -> None: ...
    def uploaded(self, outcome: FileOutcome) -> None: ...
    def processed(self, outcome: FileOutcome) -> None: ...
    def stop(self) -> None: ...


# --- Finding the files ---------------------------------------------------------------------


def collect_files(roots: Sequence[Path], exclude: Path | None = None) -> list[Path]:
    """Regular files under `roots`, sorted. Hidden entries are skipped below a root (a root
    named explicitly is taken as given); directory symlinks are never followed (cycles, and
    trees pulled in from elsewhere), file symlinks only when they resolve inside their root.
    Nothing under `exclude` (the service's own data directory) is ever taken."""
    skip = exclude.resolve() if exclude is not None else None
    found: dict[Path, Path] = {}  # real path -> path as walked, so each file is taken once
    for root in roots:
        if not root.is_dir():
            if root.is_file() and not _within(root.resolve(), skip):
                found.setdefault(root.resolve(), root)
            continue
        base = root.resolve()
        if _within(base, skip):
            continue
        for directory, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(
                d
                for d in dirnames
                if not d.startswith(".") and Path(directory, d).resolve() != skip
            )
            for name in sorted(filenames):
                if name.startswith("."):
                    continue
                path = Path(directory, name)
                real = path.resolve()
                linked = path.is_symlink()
                if (linked and not real.is_relative_to(base)) or _within(real, skip):
                    continue
                # A file reached both directly and through a link is named by its own path.
                if real.is_file() and (real not in found or not linked):
                    found[real] = path
    return sorted(found.values())


def _within(path: Path, directory: Path | None) -> bool:
    return directory is not None and path.is_relative_to(directory)


@dataclass(frozen=True)
class _Planned:
    path: Path
    # The index of an earlier file with the same bytes. This one is uploaded only after that
    # one, so which copy counts as the duplicate follows the sorted order, not thread timing.
    after: int | None


def _plan(files: list[Path]) -> list[_Planned]:
    sizes: dict[Path, int] = {}
    for path in files:
        try:
            sizes[path] = path.stat().st_size
        except OSError:
            continue  # reported when the upload tries to read it
    by_size = Counter(sizes.values())
    # Only files sharing a size can share content: hash just those, not the whole tree.
    first_with: dict[tuple[int, str], int] = {}
    planned: list[_Planned] = []
    for index, path in enumerate(files):
        size = sizes.get(path)
        after: int | None = None
        if size is not None and by_size[size] > 1:
            try:
                with path.open("rb") as handle:
                    digest = hashlib.file_digest(handle, "sha256").hexdigest()
            except OSError:
                digest = f"unreadable:{index}"
            after = first_with.setdefault((size, digest), index)
        planned.append(_Planned(path, None if after == index else after))
    return planned


# --- The run -------------------------------------------------------------------------------


class _Run:
    def __init__(
        self,
        resources: Resources,
        principal: Principal,
        options: IngestOptions,
        reporter: Reporter,
        planned: list[_Planned],
    ) -> None:
        self.resources = resources
        self.principal = principal
        self.options = options
        self.reporter = reporter
        self.planned = planned
        self.outcomes: list[FileOutcome | None] = [None] * len(planned)
        self.pending: dict[str, int] = {}  # document id -> file index, until indexed or failed
        self._slots = asyncio.Semaphore(options.concurrency)
        self._done = [asyncio.Event() for _ in planned]
        self._max_bytes = resources.settings.max_upload_mb * 1024 * 1024

    async def upload_all(self) -> None:
        async with asyncio.TaskGroup() as group:
            for index in range(len(self.planned)):
                group.create_task(self._upload(index))

    async def _upload(self, index: int) -> None:
        item = self.planned[index]
        try:
            if item.after is not None:
                await self._done[item.after].wait()
            async with self._slots:
                outcome = await self._upload_file(item.path)
        finally:
            self._done[index].set()  # also on cancellation, so no copy waits forever
        self.outcomes[index] = outcome
        if outcome.status == "queued" and outcome.document_id is not None:
            self.pending[outcome.document_id] = index
        self.reporter.uploaded(outcome)

    async def _upload_file(self, path: Path) -> FileOutcome:
        try:
            data = await asyncio.to_thread(_read_at_most, path, self._max_bytes + 1)
        except OSError as exc:
            return FileOutcome(path, "failed", reason=f"cannot read the file: {exc.strerror}")
        if len(data) > self._max_bytes:
            limit = self.resources.settings.max_upload_mb
            return FileOutcome(path, "failed", reason=f"exceeds the {limit} MB upload limit")
        upload = Upload(
            data=data,
            filename=path.name[:500],
            title=None,
            matter_id=self.options.matter_id,
            document_type=None,
            tags=list(self.options.tags),
            idempotency_key=None,
        )
        try:
            try:
                result = await self._store(upload)
            except IntegrityError:
                # Another writer stored the same bytes between the duplicate check and the
                # insert (uq_documents_org_sha256); a second try finds them as a duplicate.
                result = await self._store(upload)
        except LexbaseError as exc:
            return FileOutcome(path, "failed", reason=exc.message)
        except Exception:
            # One bad file (or a database hiccup) must not abandon the rest of the run.
            log.exception("ingest.upload_error", path=str(path))
            return FileOutcome(path, "failed", reason="unexpected error while storing; see log")
        document = result.document
        if not result.duplicate:
            return FileOutcome(path, "queued", document_id=document.id)
        if document.status == "failed":
            # Re-running an import must not turn an earlier failure into a clean exit.
            reason = f"already stored as {document.filename} ({document.id}), which failed: "
            return FileOutcome(path, "failed", document.id, reason + (document.error or "?"))
        return FileOutcome(path, "duplicate", document_id=document.id)

    async def _store(self, upload: Upload) -> UploadOut:
        # The service queues `notify_jobs` as an after-commit hook, so the runner wakes as
        # soon as this transaction commits, not at its next poll.
        async with transaction(self.resources.write_sessionmaker) as session:
            return await DocumentService(session, self.resources).upload(self.principal, upload)

    async def wait_processed(self, uploads: asyncio.Task[None], deadline: float) -> None:
        while True:
            uploading = not uploads.done()
            began = time.monotonic()
            if self.pending:
                await self._poll()
            if not uploading and not self.pending:
                return
            if time.monotonic() >= deadline:
                return
            # One read per pending document: with thousands pending a poll takes a while, so
            # rest at least as long as it took and leave the database to the workers.
            await asyncio.sleep(max(POLL_SECONDS, time.monotonic() - began))

    async def _poll(self) -> None:
        async with transaction(self.resources.sessionmaker) as session:
            service = DocumentService(session, self.resources)
            for document_id, index in list(self.pending.items()):
                try:
                    document = await service.get(self.principal, document_id)
                except DocumentNotFound:
                    self._finish(index, "failed", "the document was deleted before processing")
                    continue
                if document.status == "indexed":
                    self._finish(index, "indexed", None)
                elif document.status == "failed":
                    reason = document.error or document.error_code or "processing failed"
                    self._finish(index, "failed", reason)

    def _finish(self, index: int, status: Status, reason: str | None) -> None:
        current = self.outcomes[index]
        assert current is not None and current.document_id is not None
        del self.pending[current.document_id]
        outcome = FileOutcome(current.path, status, current.document_id, reason)
        self.outcomes[index] = outcome
        self.reporter.processed(outcome)

    def give_up(self) -> None:
        """Past the deadline: the user asked for processed documents and did not get them.
        Their jobs stay queued, and the next runner (a server, another ingest) finishes them."""
        for index in list(self.pending.values()):
            reason = f"not processed within {self.options.timeout:g}s; its job stays queued"
            self._finish(index, "failed", reason)

    def summary(self, seconds: float) -> IngestSummary:
        return IngestSummary(tuple(o for o in self.outcomes if o is not None), seconds)


def _read_at_most(path: Path, limit: int) -> bytes:
    # Bounded: a file that grew past the limit after it was listed is refused, not slurped.
    with path.open("rb") as handle:
        return handle.read(limit)


# --- Entry point ---------------------------------------------------------------------------


async def ingest(
    settings: Settings,
    paths: Sequence[Path],
    user_email: str,
    options: IngestOptions,
    reporter: Reporter,
) -> IngestSummary:
    """Upload every file under `paths` as `user_email`; with `options.wait`, run the jobs here
    and return once each accepted document is indexed or failed (or the timeout passes).
    Raises IngestRefused before touching anything when the user or matter is unusable."""
    started = time.monotonic()
    email = _normalized_email(user_email)
    resources = open_resources(settings)
    runner: JobRunner | None = None
    try:
        principal = await _acting_principal(resources, email, options.organization_id)
        if options.matter_id is not None:
            await _check_matter(resources, principal, options.matter_id)
        planned, _ = await asyncio.gather(
            # The data directory holds the database and blobs: `lexbase ingest .` run from
            # the service's own folder must not feed them back in.
            asyncio.to_thread(lambda: _plan(collect_files(paths, settings.data_dir))),
            # The job handler imports the pipeline (PDF, HTML, citation libraries) on the event
            # loop at its first job, stalling uploads for about a second; load it here, off-loop.
            asyncio.to_thread(importlib.import_module, "lexbase.ingest.pipeline"),
        )
        if options.wait and planned:
            # Imported late: the application module loads the whole HTTP stack, which a
            # refused run or an upload-only run never needs.
            from lexbase.app import start_embedded_runner
            from lexbase.tasks import task_registry

            runner = await start_embedded_runner(resources, task_registry())
        run = _Run(resources, principal, options, reporter, planned)
        reporter.start(len(planned), options.wait)
        try:
            async with asyncio.TaskGroup() as group:
                uploads = group.create_task(run.upload_all())
                if options.wait:
                    deadline = started + options.timeout
                    group.create_task(run.wait_processed(uploads, deadline))
            if options.wait:
                run.give_up()
        finally:
            reporter.stop()
        summary = run.summary(time.monotonic() - started)
    finally:
        if runner is not None:
            await runner.stop()
        await resources.close()
    log.info(
        "ingest.done",
        user_id=principal.user_id,
        indexed=summary.count("indexed"),
        duplicate=summary.count("duplicate"),
        failed=summary.count("failed"),
        queued=summary.count("queued"),
        seconds=round(summary.seconds, 2),
    )
    return summary


def _normalized_email(raw: str) -> str:
    try:
        return TypeAdapter(EmailAddress).validate_python(raw)
    except ValidationError:
        raise IngestRefused(f"not a valid email address: {raw}") from None


async def _acting_principal(
    resources: Resources, email: str, organization_id: str | None
) -> Principal:
    async with transaction(resources.sessionmaker) as session:
        accounts = await UserRepository(session).all_by_email(email, organization_id)
    if not accounts:
        raise IngestRefused(f"no user with email {email}")
    if len(accounts) > 1:
        raise IngestRefused(
            f"{email} has accounts in several organizations; choose one with --organization-id"
        )
    [user] = accounts
    if not user.is_active:
        raise IngestRefused(f"user {email} is deactivated")
    principal = Principal(
        user_id=user.id, organization_id=user.organization_id, role=Role(user.role)
    )
    if not principal.can(Permission.WRITE):
        raise IngestRefused(f"user {email} has the {user.role} role, which may not upload")
    return principal


async def _check_matter(resources: Resources, principal: Principal, matter_id: str) -> None:
    # Checked once up front: otherwise every single file would fail with the same reason.
    async with transaction(resources.sessionmaker) as session:
        matter = await MatterRepository(session).get_for(principal, matter_id)
    if matter is None:
        raise IngestRefused(f"matter {matter_id} does not exist or is not visible to the user")
