"""Errors of the jobs domain."""

from __future__ import annotations

from lexbase.core.errors import NotFound


class JobNotFound(NotFound):
    default_message = "Job not found"
