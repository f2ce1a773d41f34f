from __future__ import annotations

from lexbase.core.errors import Forbidden, NotFound, ValidationFailed


class ApiKeyNotFound(NotFound):
    default_message = "API key not found"


class KeyCannotMintKeys(Forbidden):
    default_message = "API keys cannot create other API keys; sign in to create one"


class ExpiryInPast(ValidationFailed):
    default_message = "expires_at must be in the future"
