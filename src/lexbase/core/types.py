"""Validated value types shared by request schemas."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, AwareDatetime, StringConstraints


def _email(value: str) -> str:
    try:
        # Firms run internal domains (.internal, .test): check syntax, not the DNS.
        result = validate_email(
            value, check_deliverability=False, globally_deliverable=False, test_environment=True
        )
    except EmailNotValidError as exc:
        raise ValueError(f"not a valid email address: {exc}") from None
    return result.normalized.lower()


EmailAddress = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=3, max_length=320),
    AfterValidator(_email),
]


def _utc_instant(value: datetime) -> datetime:
    # API timestamps are UTC, so an offset-less one means UTC; columns refuse naive values.
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        # 0001-01-01T00:00+14:00 parses, but its UTC instant precedes year 1: every later
        # comparison or database bind would fail with a 500 instead of this 422.
        raise ValueError("must fall within the years 1 to 9999 once converted to UTC") from None


# An instant from a client, as an aware UTC datetime that Python and both databases can hold.
UtcTimestamp = Annotated[datetime, AfterValidator(_utc_instant)]

# The same, but the client must say which offset it means (no naive timestamps).
AwareUtcTimestamp = Annotated[AwareDatetime, AfterValidator(_utc_instant)]
