"""Who may scrape `/metrics`: the holder of `LEXBASE_METRICS_TOKEN`, when one is set."""

from __future__ import annotations

import hmac

from fastapi import Request

from lexbase.core.deps import SettingsDep
from lexbase.core.errors import NotFound, Unauthorized


async def metrics_scraper(request: Request, settings: SettingsDep) -> None:
    token = settings.metrics_token
    if token is None:
        if settings.is_production:
            # Route counts and latencies map the deployment; unguarded, production has none.
            raise NotFound("Route not found")
        return
    scheme, _, presented = request.headers.get("authorization", "").partition(" ")
    expected = token.get_secret_value().encode()
    if scheme.lower() != "bearer" or not hmac.compare_digest(presented.strip().encode(), expected):
        raise Unauthorized("A valid metrics token is required")
