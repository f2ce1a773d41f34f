"""Why a search cannot be answered right now. Codes are stable."""

from __future__ import annotations

from lexbase.core.errors import ServiceUnavailable
from lexbase.providers.embedders.handle import RETRY_AFTER_FAILURE_SECONDS

# About how long the rest of a first-start model build takes (the whole build: 25-60 s).
WARMING_RETRY_AFTER_SECONDS = 15


class SearchWarmingUp(ServiceUnavailable):
    """Semantic and hybrid search need the embedding model, which is still being made."""

    default_message = (
        "Semantic and hybrid search are starting up: the embedding model is still being "
        'prepared. Retry shortly, or search with "mode": "keyword" now.'
    )

    def __init__(self) -> None:
        super().__init__(headers={"Retry-After": str(WARMING_RETRY_AFTER_SECONDS)})


class SemanticSearchUnavailable(ServiceUnavailable):
    """The embedding model could not be made or loaded; the logs say why."""

    default_message = (
        "Semantic and hybrid search are unavailable: the embedding model could not be "
        'loaded. Search with "mode": "keyword" meanwhile.'
    )

    def __init__(self) -> None:
        # The next request after this long starts another attempt.
        super().__init__(headers={"Retry-After": str(int(RETRY_AFTER_FAILURE_SECONDS))})
