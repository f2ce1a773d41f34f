"""Errors of the chat domain. Another user's or firm's conversation is not found, never
forbidden."""

from __future__ import annotations

from lexbase.core.errors import NotFound, ValidationFailed


class ConversationNotFound(NotFound):
    default_message = "Conversation not found"


class UnknownScope(ValidationFailed):
    default_message = "The conversation's matter or documents are not visible to you"

    def __init__(self, field: str) -> None:
        super().__init__(details=[{"loc": ["body", field], "message": "not found"}])


class LimitReached(ValidationFailed):
    """A conversation holds its most messages, or a user their most conversations."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message, details=[{"loc": ["body", field], "message": message}])
