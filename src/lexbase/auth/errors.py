"""Errors of the auth domain."""

from __future__ import annotations

from lexbase.core.errors import Conflict, Forbidden, Locked, Unauthorized, ValidationFailed


class InvalidCredentials(Unauthorized):
    default_message = "Invalid email or password"


class InvalidToken(Unauthorized):
    default_message = "Invalid or expired credentials"


class AccountLocked(Locked):
    code = "account_locked"
    default_message = "Too many failed sign-in attempts; try again later"


class EmailTaken(Conflict):
    default_message = "An account with this email already exists in this organization"


class OrganizationRequired(Conflict):
    code = "organization_required"
    default_message = (
        "This email and password open accounts in several organizations; "
        "send organization_id to choose one"
    )


class WeakPassword(ValidationFailed):
    default_message = "Password does not meet the policy"


class RegistrationClosed(Forbidden):
    default_message = "Self-service registration is disabled on this server"


class IncorrectPassword(ValidationFailed):
    default_message = "Current password is incorrect"

    def __init__(self) -> None:
        super().__init__(details=[{"loc": ["body", "current_password"], "message": "incorrect"}])


class PermissionDenied(Forbidden):
    default_message = "Your role does not allow this action"
