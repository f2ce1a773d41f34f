"""The built-in contract review workflow over the contract PDFs, with the local model.

    .venv/bin/python benchmarks/contract_review_workflow.py [--files N] [--model-fields auto|on]

Uploads the PDFs of shared/fixtures/contracts-pdf through the API (embedded mode, SQLite in
a temporary data dir) and waits until they are indexed (timed apart), then runs
`builtin:contract-review` over them, approving its review step as soon as it waits. Prints
the wall time and where it went: each step's time from the stored rows (the `contracts` map
is the clause classifiers, rules and — with `--model-fields on` — the model's field reads),
the model calls and their summed latencies (overlapping: two analyses run at once), and
the time spent waiting for the review (the script's own, near zero). The model's share is
the difference between a run with `--model-fields on` and one without.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for the test factories
from tests.factories import create_tenant

from lexbase.analytics.models import MODEL_CALL, UsageEvent
from lexbase.app import create_app
from lexbase.core.config import Environment, Settings
from lexbase.core.db import transaction
from lexbase.core.logging import configure_logging
from lexbase.core.migrate import upgrade

CONTRACTS = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "contracts-pdf"
SECRET = secrets.token_urlsafe(48)
MODEL_DIR = Path(os.environ.get("LEXBASE_MODEL_DIR", "data/models")).resolve()
API = "/api/v1"


def _seconds(step: dict[str, Any]) -> float:
    if not step["started_at"] or not step["finished_at"]:
        return 0.0
    started = datetime.fromisoformat(step["started_at"])
    return (datetime.fromisoformat(step["finished_at"]) - started).total_seconds()


async def indexed(c: httpx.AsyncClient, headers: dict[str, str], files: list[Path]) -> list[str]:
    ids = []
    for path in files:
        response = await c.post(
            f"{API}/documents", headers=headers, files={"file": (path.name, path.read_bytes())}
        )
        ids.append(response.json()["document"]["id"])
    for document_id in ids:
        while True:
            document = (await c.get(f"{API}/documents/{document_id}", headers=headers)).json()
            if document["status"] in ("indexed", "failed"):
                break
            await asyncio.sleep(0.2)
    return ids


async def review(
    c: httpx.AsyncClient, headers: dict[str, str], ids: list[str]
) -> tuple[dict[str, Any], float, float]:
    """The finished execution, its wall time, and the time it waited for the review."""
    started = time.perf_counter()
    response = await c.post(
        f"{API}/workflows/executions",
        json={"template_id": "builtin:contract-review", "input": {"document_ids": ids}},
        headers=headers,
    )
    url = f"{API}/workflows/executions/{response.json()['id']}"
    waited = 0.0
    while True:
        execution = (await c.get(url, headers=headers)).json()
        if execution["status"] == "waiting_review":
            asked = time.perf_counter()
            await c.post(f"{url}/review", json={"approve": True}, headers=headers)
            waited += time.perf_counter() - asked
        elif execution["status"] in ("completed", "failed", "cancelled"):
            return execution, time.perf_counter() - started, waited
        await asyncio.sleep(0.1)


async def model_seconds(app: Any) -> tuple[int, float]:
    async with transaction(app.state.resources.sessionmaker) as session:
        count, total = (
            await session.execute(
                select(func.count(), func.sum(UsageEvent.latency_ms)).where(
                    UsageEvent.kind == MODEL_CALL
                )
            )
        ).one()
    return int(count), (total or 0) / 1000


async def measure(files: list[Path], model_fields: str) -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        env=Environment.TEST,
        data_dir=Path(tempfile.mkdtemp(prefix="lexbase-bench-")),
        model_dir=MODEL_DIR,
        secret_key=SECRET,
        rate_limit_enabled=False,
        job_poll_seconds=0.1,
        analysis_model_fields=model_fields,
    )
    upgrade(settings)
    tenant = await create_tenant(settings, "Bench")
    headers = tenant["attorney"].headers
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        await app.state.warm_up
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as c:
            begun = time.perf_counter()
            ids = await indexed(c, headers, files)
            print(
                f"{len(ids)} contracts uploaded and indexed in {time.perf_counter() - begun:.1f}s"
            )
            execution, wall, waited = await review(c, headers, ids)
        calls, in_model = await model_seconds(app)
    print(f"contract review: {execution['status']} in {wall:.1f}s wall")
    for step in execution["steps"]:
        print(f"  step {step['name']:<10} {step['type']:<7} {_seconds(step):7.2f}s")
    print(f"  waiting for the review (the script approves at once): {waited:.2f}s")
    # A call's latency includes its wait for the one local model, so with `map` running two
    # analyses at once the latencies overlap: compare runs with and without model fields.
    print(f"  model calls: {calls}, latencies summed {in_model:.1f}s (overlapping)")
    print(f"  report: {len(execution['report']['citations'])} citations")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=25)
    parser.add_argument("--model-fields", choices=("auto", "on"), default="auto")
    args = parser.parse_args()
    configure_logging("WARNING", json=False)
    files = sorted(p for p in CONTRACTS.iterdir() if p.suffix.lower() == ".pdf")[: args.files]
    print(f"machine: {os.cpu_count()} cores; {len(files)} PDFs; model fields {args.model_fields}")
    asyncio.run(measure(files, args.model_fields))


if __name__ == "__main__":
    main()
