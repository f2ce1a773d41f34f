"""Request and response bodies of the caller's organization."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, StrictBool, StringConstraints

Redaction = Literal["off", "external", "all"]


class PrivacyOut(BaseModel):
    """What the organization's prompts to language models carry (in force now): personal
    data is replaced for `external` providers (all but the in-process model), `all` of them,
    or `off`; parties named in the documents' metadata too when `redact_parties`."""

    pii_redaction: Redaction
    redact_parties: bool


class OrganizationOut(BaseModel):
    id: str
    name: str
    privacy: PrivacyOut


class OrganizationUpdate(BaseModel):
    """Only the fields sent change; `null` for a privacy field returns it to the service's
    default."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] = (
        ""
    )
    pii_redaction: Redaction | None = None
    redact_parties: StrictBool | None = None
