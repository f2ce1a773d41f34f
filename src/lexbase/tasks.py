"""The one list of job types. Every process that runs jobs — the app's embedded runner, each
Celery worker process and its sweeper — builds its registry here; the job engine (`jobs/`)
is handed it and never imports a domain. A job type is added in this file, nowhere else.
"""

from __future__ import annotations

# Every table, so foreign keys between domains resolve in a process that only runs jobs.
import lexbase.models  # noqa: F401
from lexbase.documents.tasks import INGEST_JOB, IngestDocument
from lexbase.jobs.registry import TaskRegistry


def task_registry() -> TaskRegistry:
    return TaskRegistry({INGEST_JOB: IngestDocument()})
