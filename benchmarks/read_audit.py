"""What auditing document reads costs a reader: GET /documents/{id}/text with reads audited
(batched, audit/reads.py) against the same requests with the recording switched off.

    .venv/bin/python benchmarks/read_audit.py [--requests N] [--rounds N]

In-process ASGI, SQLite in a temporary data dir, one indexed document. Rounds alternate the
two variants so drift on a shared machine hits both; each prints p50 / p95 in ms, and the
flush that writes the batched events is timed apart (it runs in the background).
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for the test factories
from tests.factories import create_tenant

from lexbase.app import create_app
from lexbase.core.config import Environment, Settings
from lexbase.core.logging import configure_logging
from lexbase.core.migrate import upgrade


async def main(requests: int, rounds: int) -> None:
    configure_logging("WARNING", json=True)
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        env=Environment.TEST,
        data_dir=Path(tempfile.mkdtemp(prefix="lexbase-bench-")),
        secret_key=secrets.token_urlsafe(48),
        rate_limit_enabled=False,
        worker_warm_up=False,
        audit_reads_flush_seconds=300,  # flushed by hand below, so it is timed apart
    )
    upgrade(settings)
    tenant = await create_tenant(settings, "Bench LLP")
    headers = tenant["viewer"].headers
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as c:
            accepted = await c.post(
                "/api/v1/documents",
                headers=tenant["paralegal"].headers,
                files={"file": ("memo.txt", b"A memorandum about the lease.\n" * 50)},
            )
            document_id = accepted.json()["document"]["id"]
            for _ in range(600):
                status = (await c.get(f"/api/v1/documents/{document_id}", headers=headers)).json()
                if status["status"] in ("indexed", "failed"):
                    break
                await asyncio.sleep(0.2)
            reads = app.state.read_audit
            noted = reads.note
            url = f"/api/v1/documents/{document_id}/text"
            timings: dict[str, list[float]] = {"audited": [], "not audited": []}
            flushes: list[float] = []
            for round_ in range(rounds):
                # Alternate which variant goes first, so warming up favours neither.
                order = ("audited", "not audited")
                for variant in order if round_ % 2 == 0 else order[::-1]:
                    reads.note = noted if variant == "audited" else (lambda *a, **k: None)
                    for _ in range(requests):
                        started = time.perf_counter()
                        response = await c.get(url, headers=headers)
                        timings[variant].append((time.perf_counter() - started) * 1000)
                        assert response.status_code == 200
                    started = time.perf_counter()
                    await reads.flush()
                    if variant == "audited":
                        flushes.append((time.perf_counter() - started) * 1000)
            reads.note = noted
    for variant, values in timings.items():
        values.sort()
        p50 = statistics.median(values)
        p95 = values[int(len(values) * 0.95)]
        print(f"{variant:12s} GET /text  p50 {p50:6.2f} ms  p95 {p95:6.2f} ms  n={len(values)}")
    ratio = statistics.median(timings["audited"]) / statistics.median(timings["not audited"])
    print(f"audited / not audited p50: {ratio:.3f}")
    print(f"flush of {requests} reads (one event): median {statistics.median(flushes):.2f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    asyncio.run(main(args.requests, args.rounds))
