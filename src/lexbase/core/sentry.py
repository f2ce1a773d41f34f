"""Error reports to Sentry (or any server speaking its protocol), off unless
`LEXBASE_SENTRY_DSN` is set.

Only what the service could not handle is reported: a request's unexpected error (the one
answered 500 `internal_error`) and a job that failed on an unexpected error after its last
attempt — each with its request id or job id and type as tags. Nothing personal is sent:
no user identity, request bodies, headers or cookies, no frames' local variables, and log
records are not forwarded (they may quote documents). Integrations that patch libraries are
not enabled: the reports are made explicitly, where the service knows what went wrong.
"""

from __future__ import annotations

import sentry_sdk
from sentry_sdk.integrations.logging import LoggingIntegration

from lexbase import __version__
from lexbase.core.config import Settings

_enabled = False


def configure(settings: Settings) -> bool:
    """Start reporting for this process when a DSN is set; whether it reports."""
    global _enabled
    if settings.sentry_dsn is None:
        return _enabled
    sentry_sdk.init(
        dsn=settings.sentry_dsn.get_secret_value(),
        environment=settings.env.value,
        release=f"lexbase@{__version__}",
        # Nothing personal: no user identity, bodies, query data, and no frames' local
        # variables (a request's locals hold its headers, a job's the document's text).
        data_collection={
            "user_info": False,
            "http_bodies": [],
            "stack_frame_variables": False,
            "database_query_data": False,
            "queues": False,
        },
        include_local_variables=False,
        traces_sample_rate=0.0,  # traces go to OpenTelemetry (core/tracing.py)
        auto_enabling_integrations=False,
        integrations=[LoggingIntegration(level=None, event_level=None)],
    )
    _enabled = True
    return True


def shutdown() -> None:
    """Send what is queued and stop reporting."""
    global _enabled
    if _enabled:
        sentry_sdk.get_client().close(timeout=5)
        _enabled = False


def report(exc: BaseException, **tags: str | None) -> None:
    """Report an unexpected error with `tags` (request_id, job_id, …); nothing when off."""
    if not _enabled:
        return
    with sentry_sdk.new_scope() as scope:
        for name, value in tags.items():
            if value is not None:
                scope.set_tag(name, value)
        sentry_sdk.capture_exception(exc)
