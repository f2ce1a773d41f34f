"""Usage analytics are exact: a known set of actions by known people, and every total the
endpoints report checked against it — before the rollup job has run, after it, and with
events on both sides of it. Another firm's actions never show."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from lexbase.analytics.models import UsageDaily, UsageEvent
from lexbase.analytics.tasks import queue_rollups
from lexbase.app import create_app
from lexbase.core.config import Settings
from lexbase.core.db import create_engine, create_sessionmaker
from tests.chat.test_conversations import ask, conversation, indexed
from tests.conftest import SettingsFactory, running
from tests.factories import Tenant
from tests.ingest.hostile import text_pdf
from tests.intelligence.test_analysis_api import API, OPINION
from tests.intelligence.test_model_fields import hosted
from tests.support.replay import Replay, replay_server

PRICE = (3.0, 15.0)  # per million prompt / completion tokens
PROMPT, COMPLETION = 412, 14  # what the recorded Anthropic answer reports


@pytest.fixture
async def replay() -> AsyncIterator[tuple[Replay, str]]:
    async with replay_server() as server:
        yield server


async def pending_events(settings: Settings) -> int:
    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine)() as session:
            statement = select(func.count()).where(UsageEvent.rolled_up.is_(False))
            return int(await session.scalar(statement) or 0)
    finally:
        await engine.dispose()


async def daily_rows(settings: Settings) -> int:
    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine)() as session:
            return int(await session.scalar(select(func.count()).select_from(UsageDaily)) or 0)
    finally:
        await engine.dispose()


async def search(c: httpx.AsyncClient, headers: dict[str, str], query: str) -> None:
    response = await c.post(f"{API}/search", json={"query": query}, headers=headers)
    assert response.status_code == 200, response.text


async def get(c: httpx.AsyncClient, headers: dict[str, str], path: str, **params: Any) -> Any:
    response = await c.get(f"{API}/analytics/{path}", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_every_total_matches_the_actions_taken(
    make_settings: SettingsFactory,
    tenant: Tenant,
    other_tenant: Tenant,
    replay: tuple[Replay, str],
) -> None:
    server, base = replay
    server.answer = "The district court dismissed the complaint [1]."
    settings = hosted(
        make_settings,
        base,
        llm_prices={"claude-sonnet-5": PRICE},
        usage_rollup_seconds=3600,  # rolled up below, when the test says
    )
    attorney, paralegal = tenant["attorney"], tenant["paralegal"]
    app = create_app(settings)
    async with running(app) as c:
        # The attorney: two uploads (1 and 2 pages), three searches, two chat messages.
        first = await indexed(c, attorney.headers, OPINION, "doe-v-acme.txt")
        lines = [line for line in OPINION.decode().splitlines() if line.strip()]
        second = await indexed(
            c, attorney.headers, text_pdf([lines[:10], lines[10:]]), "doe-two-pages.pdf"
        )
        pages = 0
        for document_id in (first, second):
            document = await c.get(f"{API}/documents/{document_id}", headers=attorney.headers)
            pages += document.json()["page_count"]
        assert pages == 3
        for query in ("complaint", "dismissal", "Ninth Circuit"):
            await search(c, attorney.headers, query)
        chat = await conversation(c, attorney.headers)
        await ask(c, attorney.headers, chat, "Why was the complaint dismissed?")
        await ask(c, attorney.headers, chat, "Which court decided it?")
        calls = len(server.requests)
        assert calls >= 2
        # The paralegal: one upload, one search. Another firm: a search of its own.
        await indexed(c, paralegal.headers, b"A short memo about the lease.\n", "memo.txt")
        await search(c, paralegal.headers, "lease")
        await search(c, other_tenant.admin.headers, "lease")

        expected = {
            "searches": 3,
            "chat_messages": 2,
            "documents_uploaded": 2,
            "pages_processed": 3,
            "workflow_runs": 0,
            "model_calls": calls,
            "prompt_tokens": PROMPT * calls,
            "completion_tokens": COMPLETION * calls,
        }
        cost = calls * (PROMPT * PRICE[0] + COMPLETION * PRICE[1]) / 1_000_000

        async def check_attorney(searches: int = 3) -> None:
            mine = await get(c, attorney.headers, "usage", days=7)
            assert {k: mine[k] for k in expected} == expected | {"searches": searches}
            assert mine["estimated_cost"] == pytest.approx(cost)
            assert mine["to"] > mine["from"]

        await check_attorney()
        assert await pending_events(settings) > 0 and await daily_rows(settings) == 0

        # The rollup job, queued by the periodic loop's own function and run by the runner.
        assert await queue_rollups(app.state.resources) == 2
        async with asyncio.timeout(30):
            while await pending_events(settings):  # noqa: ASYNC110 - polling the database
                await asyncio.sleep(0.1)
        assert await daily_rows(settings) > 0
        await check_attorney()
        # An event after the rollup: rollups and pending events add up.
        await search(c, attorney.headers, "appeal")
        await check_attorney(searches=4)

        tokens = await get(c, attorney.headers, "tokens", days=7)
        [day] = tokens["days"]
        assert (day["model_calls"], day["prompt_tokens"], day["completion_tokens"]) == (
            calls,
            PROMPT * calls,
            COMPLETION * calls,
        )
        activity = (await get(c, attorney.headers, "activity", limit=3))["items"]
        assert activity[0]["kind"] == "search"
        assert {a["kind"] for a in activity} <= {"search", "model_call", "chat_message"}

        # The organization, for its admin: per user, and in all; nothing of the other firm.
        report = await get(c, tenant.admin.headers, "organization", days=7)
        by_user = {u["user_id"]: u for u in report["users"]}
        assert set(by_user) == {attorney.id, paralegal.id}
        assert by_user[attorney.id]["searches"] == 4
        assert by_user[attorney.id]["email"] == attorney.email
        assert (by_user[paralegal.id]["searches"], by_user[paralegal.id]["pages_processed"]) == (
            1,
            1,
        )
        assert report["total"]["searches"] == 5 and report["total"]["documents_uploaded"] == 3
        assert report["total"]["model_calls"] == calls
        exported = await c.get(
            f"{API}/analytics/organization",
            params={"days": 7, "format": "csv"},
            headers=tenant.admin.headers,
        )
        assert exported.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(exported.text)))
        assert {r["user_id"]: int(r["searches"]) for r in rows} == {
            attorney.id: 4,
            paralegal.id: 1,
        }
        theirs = await get(c, other_tenant.admin.headers, "organization", days=7)
        assert [u["user_id"] for u in theirs["users"]] == [other_tenant.admin.id]
        assert theirs["total"]["searches"] == 1 and theirs["total"]["model_calls"] == 0
        # A viewer reads their own usage (none), never the organization's.
        assert (await get(c, tenant["viewer"].headers, "usage"))["searches"] == 0
        refused = await c.get(f"{API}/analytics/organization", headers=tenant["viewer"].headers)
        assert refused.status_code == 403
