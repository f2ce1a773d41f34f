from __future__ import annotations

from lexbase.core.errors import Conflict, NotFound, ValidationFailed


class UserNotFound(NotFound):
    default_message = "User not found"


class OrganizationNotFound(NotFound):
    default_message = "Organization not found"


class LastAdmin(Conflict):
    default_message = "The organization must keep at least one active admin"


class CannotChangeSelf(Conflict):
    default_message = "Admins cannot deactivate or demote themselves; ask another admin"


class NotAnAdmin(ValidationFailed):
    default_message = "Only admins can be operators"
