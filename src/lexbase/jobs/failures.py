"""What readers of a failed job see: a stable code and a fixed message per kind of failure.

A job's error is shown to everyone who may read the job or its document (and sent over the
WebSocket), while an exception's text can quote a document, a file path, a query or a
credential. So the exception's type and text go to the logs only, and readers get one of
these sentences. Permanent failures raised on purpose (`PermanentJobError`) bring their own
code and fixed message.
"""

from __future__ import annotations

from lexbase.core.processes import WorkerLost, WorkerTimedOut

RETRYING = "retrying"
RETRIES_EXHAUSTED = "retries_exhausted"
TIMED_OUT = "timed_out"
WORKER_LOST = "worker_lost"
UNKNOWN_JOB_TYPE = "unknown_job_type"

MESSAGES: dict[str, str] = {
    RETRYING: "Processing was interrupted by an error and will be retried",
    RETRIES_EXHAUSTED: "Processing failed because of an internal error; retrying did not help",
    TIMED_OUT: "Processing took longer than the time allowed",
    WORKER_LOST: "The worker processing this job stopped unexpectedly",
    UNKNOWN_JOB_TYPE: "No worker of this server can run this kind of job",
}


def final_code(exc: Exception) -> str:
    """The code of a job that `exc` failed on its last attempt."""
    if isinstance(exc, WorkerTimedOut):
        return TIMED_OUT
    if isinstance(exc, WorkerLost):  # a worker process crashed or ran out of memory
        return WORKER_LOST
    return RETRIES_EXHAUSTED
