"""Errors of workflows. An execution or template the caller may not see is not found."""

from __future__ import annotations

from lexbase.core.errors import Conflict, Forbidden, NotFound, ValidationFailed


class TemplateNotFound(NotFound):
    default_message = "Workflow template not found"


class ExecutionNotFound(NotFound):
    default_message = "Workflow execution not found"


class ReportNotFound(NotFound):
    default_message = "This execution has no report (yet)"


class StepNotFound(NotFound):
    default_message = "No step of this execution has that name"


class AlreadyFinished(Conflict):
    code = "execution_finished"
    default_message = "The execution has already finished"


class NotWaitingForReview(Conflict):
    code = "not_waiting_for_review"
    default_message = "The execution is not waiting for a review"


class NotRetryable(Conflict):
    code = "step_not_failed"
    default_message = "Only a failed step of a failed execution can be retried"


class ReviewerRoleTooLow(Forbidden):
    default_message = "This review needs a reviewer of a higher role"


class BadInput(ValidationFailed):
    default_message = "The input does not fit the template"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(details=[{"loc": ["body", "input", field], "message": message}])
