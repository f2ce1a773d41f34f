"""Errors of the matters domain.

A matter hidden by an ethical wall and one of another organization raise the same
`MatterNotFound` as an id that never existed, so a response never confirms that it exists.
"""

from __future__ import annotations

from lexbase.core.errors import Conflict, Forbidden, NotFound, ValidationFailed


class ClientNotFound(NotFound):
    default_message = "Client not found"


class MatterNotFound(NotFound):
    default_message = "Matter not found"


class MemberNotFound(NotFound):
    default_message = "This user is not a member of the matter"


class MemberAlreadyExists(Conflict):
    default_message = "This user is already a member of the matter"


class MatterHasDocuments(Conflict):
    default_message = "The matter still holds documents; move or delete them first"


class WallChangeForbidden(Forbidden):
    default_message = "Your role does not allow restricting matters or changing their walls"


class ClientDeletionForbidden(Forbidden):
    default_message = "Only administrators can delete clients"


class UnknownClient(ValidationFailed):
    default_message = "client_id does not name a client of your organization"

    def __init__(self) -> None:
        super().__init__(
            details=[
                {
                    "loc": ["body", "client_id"],
                    "message": "no client with this id in your organization",
                    "type": "unknown_client",
                }
            ]
        )


class UnknownUser(ValidationFailed):
    default_message = "user_id does not name an active user of your organization"

    def __init__(self) -> None:
        super().__init__(
            details=[
                {
                    "loc": ["body", "user_id"],
                    "message": "no active user with this id in your organization",
                    "type": "unknown_user",
                }
            ]
        )
