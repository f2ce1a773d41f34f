"""On a fresh data directory the embedding model is made in the background: readiness says
`warming` meanwhile, and semantic and hybrid searches are answered at once (503 with
Retry-After) instead of waiting up to a minute for the model."""

from __future__ import annotations

import fcntl
import os
import shutil
import time
from pathlib import Path

import httpx

from lexbase.app import create_app
from lexbase.providers.embedders.static import DISTILLED_NAME
from tests.api.test_envelope import assert_envelope
from tests.conftest import SettingsFactory, running
from tests.documents.helpers import upload, wait_done
from tests.factories import Tenant
from tests.health.test_health import wait_ready

MEMO = b"The tenant shall indemnify the landlord against all flood damage to the premises.\n"
QUERY = "who pays when water ruins the building"


def finish_build(model_dir: Path) -> None:
    """Do what another process making the model does last: move a complete model into place
    (the one this test run made once, in the shared model directory)."""
    made = Path(os.environ["LEXBASE_MODEL_DIR"]) / DISTILLED_NAME
    staging = model_dir / f".{DISTILLED_NAME}-staging"
    shutil.copytree(made, staging)
    staging.rename(model_dir / DISTILLED_NAME)


async def search(c: httpx.AsyncClient, headers: dict[str, str], mode: str) -> httpx.Response:
    return await c.post("/api/v1/search", headers=headers, json={"query": QUERY, "mode": mode})


async def test_search_answers_at_once_while_the_model_is_made(
    make_settings: SettingsFactory, tenant: Tenant, tmp_path: Path
) -> None:
    headers = tenant["paralegal"].headers
    model_dir = tmp_path / "models"
    model_dir.mkdir()
    # The readiness probes get the time a machine busy making the model and indexing needs:
    # this test is about the model's states, not about how fast the database answers.
    settings = make_settings(model_dir=model_dir, ready_timeout_seconds=15)
    async with running(create_app(settings)) as c:
        # Another process (`lexbase prepare-models`, a worker) is making the model: the
        # server waits for it, exactly as on a first start, until it is done.
        with (model_dir / f".{DISTILLED_NAME}.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                ready = await c.get("/health/ready")
                assert ready.status_code == 503
                body = ready.json()
                assert (body["status"], body["models"]) == ("warming", {"embedder": "building"})
                assert body["checks"]["database"]["status"] == "ok"

                accepted = await upload(c, headers, MEMO, "lease.txt")
                for mode in ("semantic", "hybrid"):
                    started = time.monotonic()
                    response = await search(c, headers, mode)
                    assert time.monotonic() - started < 2.0
                    error = assert_envelope(response, 503, "service_unavailable")
                    assert "embedding model is still being prepared" in error["message"]
                    assert response.headers["Retry-After"] == "15"
                keyword = await search(c, headers, "keyword")
                assert keyword.status_code == 200, keyword.text
                assert keyword.json()["results"] == []  # the memo waits for the model too
            finally:
                finish_build(model_dir)
                fcntl.flock(lock, fcntl.LOCK_UN)

        body = await wait_ready(c)
        assert (body["status"], body["models"]) == ("ready", {"embedder": "ready"})
        document = await wait_done(c, headers, accepted["document"]["id"])
        assert document["status"] == "indexed"
        response = await search(c, headers, "semantic")
        assert response.status_code == 200, response.text
        results = response.json()["results"]
        assert [r["document_id"] for r in results] == [document["id"]]


async def test_a_model_that_cannot_be_made_is_reported_not_waited_for(
    make_settings: SettingsFactory, tenant: Tenant, tmp_path: Path
) -> None:
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("a file where the model directory should be")
    async with running(create_app(make_settings(model_dir=blocked))) as c:
        body = await wait_ready(c)
        assert (body["status"], body["models"]) == ("not_ready", {"embedder": "failed"})
        response = await search(c, tenant["paralegal"].headers, "hybrid")
        error = assert_envelope(response, 503, "service_unavailable")
        assert "could not be loaded" in error["message"]
        assert "not-a-directory" not in error["message"]
        assert response.headers["Retry-After"] == "60"


async def test_the_servers_embedder_is_owned_by_its_lifespan(
    make_settings: SettingsFactory, tenant: Tenant
) -> None:
    """The query embedder is loaded and held by the app's own handle, never taken from the
    process-wide cache that pool worker processes keep theirs in."""
    from lexbase.providers.embedders import _build

    before = _build.cache_info()
    app = create_app(make_settings())
    async with running(app) as c:
        body = await wait_ready(c)
        assert body["models"] == {"embedder": "ready"}
        response = await search(c, tenant["paralegal"].headers, "semantic")
        assert response.status_code == 200, response.text
        assert await app.state.search.embedder.get() is not None
    after = _build.cache_info()
    assert (after.hits, after.misses) == (before.hits, before.misses)
