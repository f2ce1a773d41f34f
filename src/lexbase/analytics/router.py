"""HTTP routes of usage analytics (API.md: Analytics and audit): the caller's own usage, and
an admin's view of the organization's, per user. `format=csv` gives a spreadsheet."""

from __future__ import annotations

import csv
import io
from dataclasses import asdict, fields
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response

from lexbase.analytics.reports import (
    Usage,
    Window,
    organization_usage_of,
    recent,
    tokens_by_day,
    usage,
    workflow_runs,
)
from lexbase.analytics.schemas import (
    ActivityOut,
    ActivityReport,
    OrganizationReport,
    TemplateRunsOut,
    TokenDayOut,
    TokensReport,
    UsageOut,
    UsageReport,
    UserUsageOut,
    WorkflowsReport,
)
from lexbase.auth.deps import AnalyticsReader, Reader
from lexbase.core.deps import SessionDep

router = APIRouter(prefix="/analytics", tags=["analytics"])

Days = Annotated[int, Query(ge=1, le=366, description="The last N days (UTC), today included")]
Format = Annotated[Literal["json", "csv"], Query(alias="format")]
CSV: dict[int | str, dict[str, Any]] = {200: {"content": {"text/csv": {}}}}
USAGE_FIELDS = [f.name for f in fields(Usage)]


def _csv(header: list[str], rows: list[list[object]], name: str) -> Response:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


@router.get("/usage", response_model=UsageReport, responses=CSV)
async def my_usage(
    principal: Reader, session: SessionDep, days: Days = 30, export: Format = "json"
) -> UsageReport | Response:
    """What the caller used: searches, chat messages, uploads, pages processed, workflow runs,
    model calls, tokens and their estimated cost."""
    window = Window.last_days(days)
    used = await usage(session, principal.organization_id, window, principal.user_id)
    if export == "csv":
        return _csv(
            ["from", "to", *USAGE_FIELDS],
            [[window.first, window.last, *asdict(used).values()]],
            "usage",
        )
    return UsageReport(from_=window.first, to=window.last, **asdict(used))


@router.get("/tokens", response_model=TokensReport, responses=CSV)
async def my_tokens(
    principal: Reader, session: SessionDep, days: Days = 30, export: Format = "json"
) -> TokensReport | Response:
    """The caller's model calls and tokens per day (days without any left out)."""
    window = Window.last_days(days)
    by_day = await tokens_by_day(session, principal.organization_id, window, principal.user_id)
    rows = [
        TokenDayOut(
            date=day,
            model_calls=s.events,
            prompt_tokens=s.prompt_tokens,
            completion_tokens=s.completion_tokens,
            estimated_cost=s.estimated_cost,
        )
        for day, s in sorted(by_day.items())
    ]
    if export == "csv":
        header = list(TokenDayOut.model_fields)
        return _csv(header, [list(r.model_dump().values()) for r in rows], "tokens")
    return TokensReport(from_=window.first, to=window.last, days=rows)


@router.get("/activity", response_model=ActivityReport)
async def my_activity(
    principal: Reader,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> ActivityReport:
    """The caller's latest counted actions, newest first."""
    events = await recent(session, principal.organization_id, principal.user_id, limit)
    return ActivityReport(
        items=[
            ActivityOut(
                kind=e.kind,
                at=e.created_at,
                quantity=e.quantity,
                document_id=e.document_id,
                conversation_id=e.conversation_id,
                provider=e.provider,
                model=e.model,
                prompt_tokens=e.prompt_tokens,
                completion_tokens=e.completion_tokens,
                estimated_cost=e.estimated_cost,
            )
            for e in events
        ]
    )


@router.get("/organization", response_model=OrganizationReport, responses=CSV)
async def organization_usage(
    principal: AnalyticsReader, session: SessionDep, days: Days = 30, export: Format = "json"
) -> OrganizationReport | Response:
    """Admins: the organization's usage, in all and per user (users with none left out)."""
    window = Window.last_days(days)
    total, per_user = await organization_usage_of(session, principal.organization_id, window)
    users = [
        UserUsageOut(
            user_id=user_id or None,
            email=person.email if person else None,
            full_name=person.full_name if person else None,
            **asdict(used),
        )
        for user_id, person, used in per_user
    ]
    if export == "csv":
        header = ["user_id", "email", "full_name", *USAGE_FIELDS]
        rows = [
            [u.user_id, u.email, u.full_name, *(getattr(u, f) for f in USAGE_FIELDS)] for u in users
        ]
        return _csv(header, rows, "organization-usage")
    return OrganizationReport(
        from_=window.first, to=window.last, total=UsageOut(**asdict(total)), users=users
    )


@router.get("/workflows", response_model=WorkflowsReport)
async def workflows_usage(
    principal: Reader, session: SessionDep, days: Days = 30
) -> WorkflowsReport:
    """Per template: runs, how they ended, success rate, mean duration and the estimated
    cost of their model calls — the caller's executions; an admin's: the organization's."""
    window = Window.last_days(days)
    templates = [
        TemplateRunsOut(
            template_id=r.template_id,
            template_name=r.template_name,
            runs=r.runs,
            completed=r.completed,
            failed=r.failed,
            cancelled=r.cancelled,
            success_rate=r.success_rate,
            mean_duration_seconds=r.mean_seconds,
            estimated_cost=r.estimated_cost,
        )
        for r in await workflow_runs(session, principal, window)
    ]
    return WorkflowsReport(from_=window.first, to=window.last, templates=templates)
