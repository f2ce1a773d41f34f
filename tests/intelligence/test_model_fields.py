"""What a language model adds to analyses, and how it is kept honest. Fields: asked in a
schema, validated, repaired once, and checked against the sentence the model names — a wrong
answer is `null` with a reason, never a finding. Abstractive summaries: map-reduce, then each
sentence kept only where the document supports it. Remote providers are their replayed APIs
(tests/support/replay.py); the default path is the bundled local model, for real."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from lexbase.app import create_app
from lexbase.core.config import Settings
from lexbase.intelligence.deps import asks_model_fields
from lexbase.intelligence.extraction import (
    INVALID,
    NO_MODEL,
    NOT_SUPPORTED,
    NOT_WRITTEN,
    checked,
    extract,
    schema,
)
from lexbase.intelligence.findings import Ask, analyze_case
from lexbase.providers.llm import LLMChain, RetryPolicy
from lexbase.providers.llm.anthropic_api import AnthropicLLM
from lexbase.providers.llm.gemini_api import GeminiLLM
from lexbase.providers.llm.local import LocalLLM, bundled_model
from tests.api.test_envelope import assert_envelope
from tests.chat.test_conversations import indexed, usage_events
from tests.conftest import SettingsFactory, running
from tests.factories import Tenant
from tests.intelligence.test_analysis_api import (
    API,
    OPINION,
    analyze,
    held_out_contracts,
    indexed_with_text,
)
from tests.matters.helpers import create_matter
from tests.providers.test_remote_apis import anthropic, gemini
from tests.support.replay import Replay, replay_server
from tests.support.services import find_free_port


async def job_outcome(
    c: httpx.AsyncClient, headers: dict[str, str], job_id: str, limit: float = 60.0
) -> dict[str, Any]:
    """The job once it has succeeded or failed (polled, never forever)."""
    async with asyncio.timeout(limit):
        while True:
            job = (await c.get(f"{API}/jobs/{job_id}", headers=headers)).json()
            if job["status"] in ("succeeded", "failed"):
                return dict(job)
            await asyncio.sleep(0.1)


TEXT = (
    "This Agreement renews automatically for successive one-year terms. "
    "Either party may prevent renewal by written notice given thirty (30) days before the "
    "end of the then-current term. "
    "The Supplier shall deliver the goods to the Buyer's warehouse."
)
SENTENCES = ((0, 66), (67, 181), (182, 244))
NOTICE = Ask("notice_period", "How much notice?", SENTENCES, verbatim=True)
DUTY = Ask("delivery", "What must the Supplier do?", SENTENCES, verbatim=False)


def test_the_sentences_are_the_ones_written() -> None:
    assert [TEXT[a:b][-6:] for a, b in SENTENCES] == ["terms.", " term.", "house."]


def test_an_answer_becomes_a_finding_only_where_its_sentence_bears_it_out() -> None:
    found = checked(TEXT, NOTICE, 2, "Thirty  (30) days")
    assert found.value == "thirty (30) days" and found.reason is None
    [(start, end)] = found.sources
    assert TEXT[start:end] == "thirty (30) days"
    # A value the chosen sentence does not write: no value, the sentence kept as the place.
    wrong = checked(TEXT, NOTICE, 1, "thirty (30) days")
    assert (wrong.value, wrong.reason, wrong.sources) == (None, NOT_WRITTEN, [SENTENCES[0]])
    # A description must be borne out by the sentence's words; one too short to say
    # anything is replaced by the sentence itself.
    said = checked(TEXT, DUTY, 3, "The Supplier must deliver the goods to the warehouse")
    assert said.value == "The Supplier must deliver the goods to the warehouse"
    assert said.sources == [SENTENCES[2]]
    unsupported = checked(TEXT, DUTY, 3, "The Buyer pays a penalty for late payment")
    assert (unsupported.value, unsupported.reason) == (None, NOT_SUPPORTED)
    assert checked(TEXT, DUTY, 3, "deliver").value == TEXT[182:244]
    assert checked(TEXT, DUTY, None, None).value is None


def chain(*providers: AnthropicLLM | GeminiLLM | LocalLLM) -> LLMChain:
    return LLMChain(list(providers), RetryPolicy(retries=0, base_seconds=0.01))


@pytest.fixture
async def replay() -> AsyncIterator[tuple[Replay, str]]:
    async with replay_server() as server:
        yield server


async def test_an_invalid_answer_is_repaired_once_with_the_reason(
    replay: tuple[Replay, str],
) -> None:
    server, base = replay
    server.answers = ["The notice period is thirty days.", '{"sentence": 2, "value": "30 days"}']
    server.answers.append('{"sentence": 2, "value": "thirty (30) days"}')
    models = chain(anthropic(base))
    try:
        found = await extract(models, TEXT, [NOTICE])
    finally:
        await models.close()
    # The first answer was not JSON: the model was told so and asked again; "30 days" is not
    # how the sentence writes it, so nothing is found — and no third call is made.
    value = found.values["notice_period"]
    assert (value.value, value.reason) == (None, NOT_WRITTEN)
    assert len(server.requests) == 2 and len(found.calls) == 2
    first, repair = (body for _, _, body in server.requests)
    assert first["output_config"] == {"format": {"type": "json_schema", "schema": schema(3)}}
    assert "[2] Either party may prevent renewal" in first["messages"][0]["content"]
    assert repair["messages"][1] == {
        "role": "assistant",
        "content": "The notice period is thirty days.",
    }
    assert "not valid" in repair["messages"][2]["content"]
    assert found.model == "anthropic/claude-sonnet-5"
    assert all(c.prompt_tokens == 412 and c.completion_tokens == 14 for c in found.calls)


async def test_gemini_is_asked_for_json_of_the_schema(replay: tuple[Replay, str]) -> None:
    server, base = replay
    server.answers = ['{"sentence": 2, "value": "thirty (30) days"}']
    server.answers += ['{"sentence": 7, "value": "x"}', '{"sentence": 9, "value": "x"}']
    models = chain(gemini(base))
    try:
        found = await extract(models, TEXT, [NOTICE, DUTY])
    finally:
        await models.close()
    notice = found.values["notice_period"]
    assert notice.value == "thirty (30) days" and notice.sources == [(124, 140)]
    # A sentence number outside those shown, twice: no value, with the reason.
    assert (found.values["delivery"].value, found.values["delivery"].reason) == (None, INVALID)
    config = server.requests[0][2]["generationConfig"]
    assert config["responseMimeType"] == "application/json"
    assert config["responseJsonSchema"] == schema(3)
    assert len(found.calls) == 3


async def test_no_model_reachable_leaves_the_fields_null_with_the_reason() -> None:
    dead = anthropic(f"http://127.0.0.1:{find_free_port()}")
    models = chain(dead)
    try:
        found = await extract(models, TEXT, [NOTICE])
    finally:
        await models.close()
    assert (found.values["notice_period"].value, found.values["notice_period"].reason) == (
        None,
        NO_MODEL,
    )
    assert found.calls == []


async def test_the_local_model_s_answers_are_findings_only_where_the_text_says_them() -> None:
    """SmolLM2-135M picks among a decision's concluding sentences under a grammar: whatever it
    answers is either borne out by the sentence it named or dropped with the reason."""
    text = OPINION.decode()
    analysis = analyze_case(text, {}, [])
    [holding] = [a for a in analysis.asks if a.field == "holding"]
    path = bundled_model()
    assert path is not None
    models = chain(LocalLLM(path, context_window=2048, threads=2))
    try:
        found = await extract(models, text, [holding])
    finally:
        await models.close()
    value = found.values["holding"]
    assert len(found.calls) in (1, 2) and found.calls[0].prompt_tokens > 50
    assert found.model == "local/SmolLM2-135M-Instruct.Q4_1"
    if value.value is None:
        assert value.reason
    else:
        [(start, end)] = value.sources
        assert (start, end) in holding.candidates
        assert value.value.split()[0].lower() in text[start:end].lower()


async def test_an_analysis_asks_the_model_and_records_each_call(
    make_settings: SettingsFactory, tenant: Tenant, replay: tuple[Replay, str]
) -> None:
    server, base = replay
    server.answer = json.dumps({"sentence": 4, "value": "The complaint states a claim"})
    settings = make_settings(
        analysis_model_fields="auto",  # on: the model is a hosted one
        llm_providers=["anthropic"],
        llm_anthropic_base_url=base,
        llm_anthropic_api_key="sk-ant-test",
        llm_retries=0,
    )
    headers = tenant["attorney"].headers
    async with running(create_app(settings)) as c:
        document_id, text = await indexed_with_text(c, headers, OPINION, "doe-v-acme.txt")
        response = await analyze(c, headers, document_id)
        assert response.status_code == 200, response.text
        analysis = response.json()
        again = (await analyze(c, headers, document_id)).json()
    assert analysis["model"].endswith("+ anthropic/claude-sonnet-5")
    holding = analysis["fields"]["holding"]
    assert holding["value"] == "The complaint states a claim"
    [source] = holding["sources"]
    assert text[source["start"] : source["end"]] == source["quote"]
    assert "The complaint states a claim" in source["quote"]
    # The rules read the posture from the "Appeal from" line: no model call for it.
    posture = analysis["fields"]["procedural_posture"]
    assert posture["value"].startswith("Appeal from the United States District Court")
    # One call (the holding), recorded with its usage; the repeat is the stored result.
    assert again["cached"] is True and len(server.requests) == 1
    [event] = await usage_events(settings)
    assert (event.kind, event.provider, event.model) == (
        "model_call",
        "anthropic",
        "claude-sonnet-5",
    )
    assert (event.prompt_tokens, event.completion_tokens) == (412, 14)
    assert event.organization_id == tenant["attorney"].organization_id


def test_the_bundled_tiny_model_is_not_asked_by_default(make_settings: SettingsFactory) -> None:
    assert not asks_model_fields(make_settings(analysis_model_fields="auto"))
    assert asks_model_fields(make_settings(analysis_model_fields="on"))
    assert asks_model_fields(make_settings(analysis_model_fields="auto", llm_providers=["openai"]))
    assert not asks_model_fields(
        make_settings(analysis_model_fields="off", llm_providers=["openai"])
    )


def hosted(make_settings: SettingsFactory, base: str, **overrides: object) -> Settings:
    return make_settings(
        llm_providers=["anthropic"],
        llm_anthropic_base_url=base,
        llm_anthropic_api_key="sk-ant-test",
        llm_retries=0,
        **overrides,
    )


async def short_abstract(
    c: httpx.AsyncClient, headers: dict[str, str], document_id: str
) -> dict[str, Any]:
    response = await c.post(
        f"{API}/documents/{document_id}/summary",
        json={"method": "abstractive", "length": "short"},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_an_abstractive_summary_keeps_only_what_the_document_supports(
    make_settings: SettingsFactory, tenant: Tenant, replay: tuple[Replay, str]
) -> None:
    server, base = replay
    server.answer = (
        "The district court dismissed the complaint. The complaint states a claim and the "
        "dismissal cannot stand. The parties settled for ten million dollars in gold."
    )
    settings = hosted(make_settings, base)
    headers = tenant["attorney"].headers
    async with running(create_app(settings)) as c:
        document_id, text = await indexed_with_text(c, headers, OPINION, "doe-v-acme.txt")
        summary = await short_abstract(c, headers, document_id)
        again = await short_abstract(c, headers, document_id)
    assert (summary["method"], summary["model"]) == ("abstractive", "anthropic/claude-sonnet-5")
    points = [p["text"] for p in summary["key_points"]]
    assert points == [
        "The district court dismissed the complaint.",
        "The complaint states a claim and the dismissal cannot stand.",
    ]
    assert summary["unsupported_sentences"] == 1 and "gold" not in summary["summary"]
    for point in summary["key_points"]:
        [source] = point["sources"]
        assert text[source["start"] : source["end"]] == source["quote"]
    assert "dismissed the complaint" in summary["key_points"][0]["sources"][0]["quote"]
    # One part, so one call (no reduce step); the system prompt asks for a short summary.
    [(_, _, body)] = server.requests
    assert (
        "at most 3 sentences" in body["system"]
        and "Ninth Circuit".upper() in body["messages"][0]["content"].upper()
    )
    [event] = await usage_events(settings)
    assert (event.provider, event.prompt_tokens) == ("anthropic", 412)
    assert again["cached"] is True and again["key_points"] == summary["key_points"]


async def test_a_long_document_is_summarized_part_by_part_then_as_a_whole(
    make_settings: SettingsFactory, tenant: Tenant, replay: tuple[Replay, str]
) -> None:
    server, base = replay
    [(name, data, _), (other, longer, _)] = held_out_contracts(2)
    server.answer = "This Agreement is governed by the laws of a State."
    headers = tenant["attorney"].headers
    # Inline here, to count the calls (tests/intelligence/test_analysis_jobs.py runs it as
    # the job it would be by default).
    small = hosted(
        make_settings, base, llm_anthropic_context_window=2048, analysis_inline_model_calls=100
    )
    async with running(create_app(small)) as c:
        document_id, _ = await indexed_with_text(c, headers, data, name)
        url = f"{API}/documents/{document_id}/summary"
        response = await c.post(url, json={"method": "abstractive"}, headers=headers)
    assert response.status_code == 200, response.text
    parts = [b for _, _, b in server.requests if b["system"].startswith("Summarize this part")]
    reduces = [b for _, _, b in server.requests if b["system"].startswith("These are summaries")]
    assert len(parts) > 1 and len(reduces) >= 1
    assert len(server.requests) == len(parts) + len(reduces) == len(await usage_events(small))
    # Each part fits the window (a remote model is measured at 3 characters a token).
    assert all(len(b["messages"][0]["content"]) < 2048 * 3 for b in parts)
    # Too long for the limit of model calls: refused before any call.
    tiny = hosted(make_settings, base, llm_anthropic_context_window=512, summary_max_model_calls=24)
    calls = len(server.requests)
    async with running(create_app(tiny)) as c:
        document_id, _ = await indexed_with_text(c, headers, longer, other)
        refused = await c.post(
            f"{API}/documents/{document_id}/summary",
            json={"method": "abstractive"},
            headers=headers,
        )
    error = assert_envelope(refused, 422, "validation_error")
    assert "model calls" in error["details"][0]["message"] and len(server.requests) == calls


async def test_an_unreachable_model_is_a_503_and_the_extractive_summary_still_works(
    make_settings: SettingsFactory, tenant: Tenant
) -> None:
    settings = hosted(make_settings, f"http://127.0.0.1:{find_free_port()}")
    headers = tenant["attorney"].headers
    async with running(create_app(settings)) as c:
        document_id, _ = await indexed_with_text(c, headers, OPINION, "doe-v-acme.txt")
        url = f"{API}/documents/{document_id}/summary"
        failed = await c.post(url, json={"method": "abstractive"}, headers=headers)
        extractive = await c.post(url, json={"method": "extractive"}, headers=headers)
    assert_envelope(failed, 503, "model_unavailable")
    assert extractive.status_code == 200 and extractive.json()["key_points"]


async def test_the_local_model_s_summary_is_checked_sentence_by_sentence(
    make_settings: SettingsFactory, tenant: Tenant
) -> None:
    settings = make_settings(llm_local_context=2048)
    headers = tenant["attorney"].headers
    async with running(create_app(settings)) as c:
        document_id, text = await indexed_with_text(c, headers, OPINION, "doe-v-acme.txt")
        summary = await short_abstract(c, headers, document_id)
    assert summary["model"] == "local/SmolLM2-135M-Instruct.Q4_1"
    for point in summary["key_points"]:
        [source] = point["sources"]
        assert text[source["start"] : source["end"]] == source["quote"]
        assert point["text"] in summary["summary"]
    [event] = await usage_events(settings)
    assert event.provider == "local" and event.completion_tokens > 0


async def test_questions_beyond_the_analysis_are_written_and_checked(
    make_settings: SettingsFactory, tenant: Tenant, replay: tuple[Replay, str]
) -> None:
    server, base = replay
    server.answers = [json.dumps({"sentence": 4, "value": "The complaint states a claim"})]
    # Every sentence asked about gets the same pair back: only the one that says it keeps it.
    pair = {
        "question": "Why can the dismissal not stand?",
        "answer": "The complaint states a claim",
    }
    server.answer = json.dumps(pair)
    settings = hosted(make_settings, base, analysis_model_fields="auto")
    headers = tenant["attorney"].headers
    async with running(create_app(settings)) as c:
        document_id, text = await indexed_with_text(c, headers, OPINION, "doe-v-acme.txt")
        url = f"{API}/documents/{document_id}/questions"
        drawn = (await c.post(url, json={"count": 1}, headers=headers)).json()
        calls = len(server.requests)
        # Dozens of questions to write: a job; asked again once it is done, the result.
        queued = await c.post(url, json={"count": 50}, headers=headers)
        assert queued.status_code == 202, queued.text
        assert queued.json()["operation"] == "questions"
        done = await job_outcome(c, headers, queued.json()["job_id"])
        assert done["status"] == "succeeded", done
        response = await c.post(url, json={"count": 50}, headers=headers)
        assert response.status_code == 200, response.text
        asked = response.json()
        again = (await c.post(url, json={"count": 50}, headers=headers)).json()
    assert calls == 1  # the analysis's holding; one drawn question needs no model
    questions = asked["questions"]
    written = [q for q in questions if q["question"] == "Why can the dismissal not stand?"]
    assert len(written) == 1
    [source] = written[0]["sources"]
    assert text[source["start"] : source["end"]] == source["quote"]
    assert "The complaint states a claim" in source["quote"]
    assert written[0]["answer"] == "The complaint states a claim"
    assert asked["model"].endswith("+ anthropic/claude-sonnet-5")
    assert questions[0] == drawn["questions"][0]  # the analysis's own come first
    # Each sentence asked about was one call, recorded; the repeat is the stored result.
    written_calls = len(server.requests) - calls
    assert written_calls >= 2 and len(await usage_events(settings)) == 1 + written_calls
    assert again["questions"] == questions


async def test_no_model_is_asked_about_a_document_the_caller_cannot_see(
    make_settings: SettingsFactory,
    tenant: Tenant,
    other_tenant: Tenant,
    replay: tuple[Replay, str],
) -> None:
    """Another firm, and a colleague outside the wall, get 404 for the model's summaries and
    questions — before any prompt with the document's text leaves the server."""
    server, base = replay
    server.answer = json.dumps({"question": "What?", "answer": "x"})
    attorney = tenant["attorney"]
    async with running(create_app(hosted(make_settings, base, analysis_model_fields="on"))) as c:
        walled = await create_matter(c, attorney, name="Sealed", restricted=True)
        document_id = await indexed(
            c, attorney.headers, OPINION, "sealed.txt", matter_id=walled["id"]
        )
        for outsider in (other_tenant.admin.headers, tenant["paralegal"].headers):
            for path, body in (
                ("summary", {"method": "abstractive"}),
                ("questions", {"count": 50}),
                ("analysis", {"analysis_type": "case"}),
            ):
                response = await c.post(
                    f"{API}/documents/{document_id}/{path}", json=body, headers=outsider
                )
                assert_envelope(response, 404, "not_found")
    assert server.requests == []
