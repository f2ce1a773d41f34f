"""The one list of job types. Every process that runs jobs — the app's embedded runner, each
Celery worker process and its sweeper — builds its registry here; the job engine (`jobs/`)
is handed it and never imports a domain. A job type is added in this file, nowhere else.
"""

from __future__ import annotations

# Every table, so foreign keys between domains resolve in a process that only runs jobs.
import lexbase.models  # noqa: F401
from lexbase.analytics.tasks import ROLLUP_JOB, RollupUsage
from lexbase.documents.tasks import INGEST_JOB, IngestDocument
from lexbase.intelligence.deps import IntelligenceState
from lexbase.intelligence.tasks import ANALYSIS_JOB, AnalyzeDocument
from lexbase.jobs.registry import TaskRegistry
from lexbase.search.deps import SearchState
from lexbase.workflows.tasks import WORKFLOW_JOB, RunWorkflow, WorkflowState


def task_registry(
    intelligence: IntelligenceState | None = None, search: SearchState | None = None
) -> TaskRegistry:
    """`intelligence`, `search`: the app's, shared with its jobs (a worker process without
    them opens its own on the first job that needs them)."""
    return TaskRegistry(
        {
            INGEST_JOB: IngestDocument(),
            ANALYSIS_JOB: AnalyzeDocument(intelligence),
            ROLLUP_JOB: RollupUsage(),
            WORKFLOW_JOB: RunWorkflow(WorkflowState(intelligence, search)),
        }
    )
