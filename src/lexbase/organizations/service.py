"""The caller's organization: its name and its policies (personal-data redaction before
language models). Only ever the caller's own organization is read or changed."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from lexbase.audit.service import record
from lexbase.auth.models import Organization
from lexbase.core.config import Settings
from lexbase.core.principal import Principal
from lexbase.organizations.schemas import OrganizationOut, OrganizationUpdate, PrivacyOut
from lexbase.providers.llm.privacy import Privacy, Scope


async def privacy_of(
    session: AsyncSession, settings: Settings, organization_id: str, names: tuple[str, ...] = ()
) -> tuple[Privacy, bool]:
    """The redaction policy in force for an organization, and whether its parties count."""
    organization = await session.get(Organization, organization_id)
    scope: Scope = settings.llm_redact_pii
    parties = settings.llm_redact_parties
    if organization is not None:
        if organization.pii_redaction in ("off", "external", "all"):
            scope = organization.pii_redaction  # type: ignore[assignment]
        if organization.redact_parties is not None:
            parties = organization.redact_parties
    return Privacy(scope, names), parties


async def get_organization(
    session: AsyncSession, settings: Settings, principal: Principal
) -> OrganizationOut:
    organization = await session.get(Organization, principal.organization_id)
    assert organization is not None  # a principal's organization outlives its sessions
    privacy, parties = await privacy_of(session, settings, organization.id)
    return OrganizationOut(
        id=organization.id,
        name=organization.name,
        privacy=PrivacyOut(pii_redaction=privacy.scope, redact_parties=parties),
    )


async def update_organization(
    session: AsyncSession, settings: Settings, principal: Principal, body: OrganizationUpdate
) -> OrganizationOut:
    organization = await session.get(Organization, principal.organization_id, with_for_update=True)
    assert organization is not None
    changed = body.model_dump(exclude_unset=True)
    if "name" in changed:
        organization.name = body.name
    if "pii_redaction" in changed:
        organization.pii_redaction = body.pii_redaction
    if "redact_parties" in changed:
        organization.redact_parties = body.redact_parties
    await session.flush()
    await record(
        session,
        "organization.updated",
        principal,
        resource=("organization", organization.id),
        details={"changed": sorted(changed)},
    )
    return await get_organization(session, settings, principal)
