"""Document analyses through HTTP alone: a CUAD contract's clauses located verbatim in its
/text, a court decision's court, parties and date, the stored result, tenants, walls,
roles and bad input."""

from __future__ import annotations

import io
from csv import reader
from pathlib import Path
from typing import Any

import httpx

from lexbase.app import create_app
from lexbase.commands.clauses import Labels
from tests.api.test_envelope import assert_envelope
from tests.chat.test_conversations import indexed
from tests.conftest import SettingsFactory, running
from tests.factories import Tenant
from tests.matters.helpers import create_matter
from tests.support.db import set_document

API = "/api/v1"
CUAD = Path(__file__).resolve().parents[3] / "shared" / "eval" / "legalbench-cuad"
OPINION = (
    b"IN THE UNITED STATES COURT OF APPEALS\n"
    b"FOR THE NINTH CIRCUIT\n\n"
    b"JANE DOE,\nPlaintiff-Appellant,\n\nv.\n\nACME CORPORATION,\nDefendant-Appellee.\n\n"
    b"No. 21-55123\n\n"
    b"Appeal from the United States District Court for the Central District of California\n\n"
    b"Argued and Submitted March 3, 2022\nFiled June 14, 2022\n\n"
    b"OPINION\n\n"
    b"The district court dismissed the complaint. We review de novo. See Smith v. Jones, "
    b"550 U.S. 544 (2007). The complaint states a claim, so the dismissal cannot stand.\n\n"
    b"REVERSED and REMANDED.\n"
)


def held_out_contracts(count: int = 1) -> list[tuple[str, bytes, list[tuple[int, int]]]]:
    """CUAD contracts the clause model was not trained on, with their governing-law spans."""
    labels = Labels.load(CUAD)
    found = [
        (Path(file).name, labels.text(file).encode(), labels.spans[(file, "Governing Law")])
        for file in labels.split(held_out=True)
        if (file, "Governing Law") in labels.spans
    ]
    assert len(found) >= count, "held-out contracts with a governing-law clause"
    return found[:count]


def held_out_contract() -> tuple[str, bytes, list[tuple[int, int]]]:
    return held_out_contracts()[0]


def assert_sources_verbatim(analysis: dict[str, Any], text: str) -> int:
    """Every source of every finding quotes exactly text[start:end]; returns their number."""
    sources = [s for p in analysis["parties"] for s in p["sources"]]
    sources += [s for d in analysis["key_dates"] for s in d["sources"]]
    sources += [s for c in analysis["clauses"] for s in c["sources"]]
    sources += [s for f in analysis["fields"].values() for s in f["sources"]]
    sources += [s for r in analysis["risks"] for s in r["sources"]]
    sources += [s for o in analysis["obligations"] for s in o["sources"]]
    for source in sources:
        assert text[source["start"] : source["end"]] == source["quote"], source
    return len(sources)


async def indexed_with_text(
    c: httpx.AsyncClient, headers: dict[str, str], data: bytes, name: str
) -> tuple[str, str]:
    document_id = await indexed(c, headers, data, name)
    text = (await c.get(f"{API}/documents/{document_id}/text", headers=headers)).text
    return document_id, text


async def analyze(
    c: httpx.AsyncClient, headers: dict[str, str], document_id: str, **body: Any
) -> httpx.Response:
    return await c.post(f"{API}/documents/{document_id}/analysis", json=body, headers=headers)


async def test_a_contract_s_clauses_are_found_where_its_text_says_them(
    make_settings: SettingsFactory, tenant: Tenant
) -> None:
    name, data, governing = held_out_contract()
    headers = tenant["attorney"].headers
    async with running(create_app(make_settings())) as c:
        document_id, text = await indexed_with_text(c, headers, data, name)
        response = await analyze(c, headers, document_id, analysis_type="contract")
        assert response.status_code == 200, response.text
        analysis = response.json()
        assert analysis["analysis_type"] == "contract" and analysis["cached"] is False
        assert len(analysis["clauses"]) == 35
        assert assert_sources_verbatim(analysis, text) > 0
        [law] = [c for c in analysis["clauses"] if c["category"] == "Governing Law"]
        assert law["present"] and 0 < law["confidence"] <= 1
        assert any(s["start"] < b and a < s["end"] for s in law["sources"] for a, b in governing), (
            "the cited sentence overlaps the labelled clause"
        )
        jurisdiction = analysis["fields"]["governing_law"]
        assert (
            jurisdiction["value"] and jurisdiction["value"] in jurisdiction["sources"][0]["quote"]
        )
        for name in ("renewal_term", "notice_period", "liability_cap"):
            value = analysis["fields"][name]
            assert value["value"] is not None or value["reason"], name
            if value["value"] is not None:
                assert " ".join(value["sources"][0]["quote"].split()) == value["value"]
        assert analysis["obligations"], "a commercial contract binds its parties"
        for obligation in analysis["obligations"]:
            assert " ".join(obligation["sources"][0]["quote"].split()) == obligation["text"]
        # The same request for the same document is answered from the store; GET returns it.
        again = (await analyze(c, headers, document_id, analysis_type="contract")).json()
        assert again["cached"] is True and again["id"] == analysis["id"]
        latest = await c.get(f"{API}/documents/{document_id}/analysis", headers=headers)
        assert latest.status_code == 200 and latest.json()["clauses"] == analysis["clauses"]


async def test_a_decision_names_its_court_parties_docket_and_date(
    make_settings: SettingsFactory, tenant: Tenant
) -> None:
    headers = tenant["paralegal"].headers
    async with running(create_app(make_settings())) as c:
        document_id, text = await indexed_with_text(c, headers, OPINION, "doe-v-acme.txt")
        response = await analyze(c, headers, document_id)  # type from the document: a case
        assert response.status_code == 200, response.text
        analysis = response.json()
        assert analysis["analysis_type"] == "case"
        assert_sources_verbatim(analysis, text)
        fields = analysis["fields"]
        assert "Ninth Circuit" in fields["court"]["value"]["name"]
        assert fields["docket_number"]["value"] == "21-55123"
        assert fields["docket_number"]["sources"][0]["quote"] == "21-55123"
        assert fields["disposition"]["value"].startswith("Reversed")
        names = " ".join(p["name"] for p in analysis["parties"]).upper()
        assert "JANE DOE" in names and "ACME CORPORATION" in names
        holding = fields["holding"]
        assert holding["value"] is None and holding["sources"] == [] and holding["reason"]
        assert fields["decision_date"]["value"] == "2022-06-14"
        assert fields["decision_date"]["sources"][0]["quote"] == "June 14, 2022"
        first = analysis["key_dates"][0]
        assert (first["kind"], first["date"]) == ("decision", "2022-06-14")


async def test_a_summary_quotes_the_document_s_central_sentences(
    make_settings: SettingsFactory, tenant: Tenant
) -> None:
    name, data, _ = held_out_contract()
    headers = tenant["attorney"].headers
    async with running(create_app(make_settings())) as c:
        document_id, text = await indexed_with_text(c, headers, data, name)
        url = f"{API}/documents/{document_id}/summary"
        short = (await c.post(url, json={"length": "short"}, headers=headers)).json()
        long = (await c.post(url, json={"length": "long"}, headers=headers)).json()
        assert (short["method"], short["cached"]) == ("extractive", False)
        assert len(short["key_points"]) == 3 and len(long["key_points"]) == 10
        offsets = []
        for point in long["key_points"]:
            [source] = point["sources"]
            assert text[source["start"] : source["end"]] == source["quote"]
            assert point["text"] == " ".join(source["quote"].split())
            assert point["text"] in long["summary"]
            offsets.append(source["start"])
        assert offsets == sorted(offsets), "in reading order"
        again = (await c.post(url, json={"length": "short"}, headers=headers)).json()
        assert again["cached"] is True and again["key_points"] == short["key_points"]
        # A summary is not an analysis: GET .../analysis still has none.
        latest = await c.get(f"{API}/documents/{document_id}/analysis", headers=headers)
        assert_envelope(latest, 404, "not_found")


async def test_questions_are_answered_by_the_document_s_own_words(
    make_settings: SettingsFactory, tenant: Tenant
) -> None:
    name, data, _ = held_out_contract()
    headers = tenant["attorney"].headers
    async with running(create_app(make_settings())) as c:
        contract_id, contract = await indexed_with_text(c, headers, data, name)
        opinion_id, opinion = await indexed_with_text(c, headers, OPINION, "doe.txt")
        for document_id, text in ((contract_id, contract), (opinion_id, opinion)):
            url = f"{API}/documents/{document_id}/questions"
            response = await c.post(url, json={"count": 5}, headers=headers)
            assert response.status_code == 200, response.text
            asked = response.json()["questions"]
            assert 1 <= len(asked) <= 5
            for question in asked:
                assert question["question"].endswith("?") and question["sources"]
                quotes = [s["quote"] for s in question["sources"]]
                assert question["answer"] == " ".join(" ".join(q.split()) for q in quotes)
                for source in question["sources"]:
                    assert text[source["start"] : source["end"]] == source["quote"]
        court = await c.post(
            f"{API}/documents/{opinion_id}/questions",
            json={"count": 10, "difficulty": "easy"},
            headers=headers,
        )
        by_question = {q["question"]: q["answer"] for q in court.json()["questions"]}
        assert by_question["What is the docket number?"] == "21-55123"
        assert "NINTH CIRCUIT" in by_question["Which court decided the case?"].upper()
        assert {q["difficulty"] for q in court.json()["questions"]} == {"easy"}
        clauses = await c.post(
            f"{API}/documents/{contract_id}/questions",
            json={"count": 50, "difficulty": "medium"},
            headers=headers,
        )
        assert any("law governs" in q["question"] for q in clauses.json()["questions"])
        too_many = await c.post(
            f"{API}/documents/{contract_id}/questions", json={"count": 500}, headers=headers
        )
        assert_envelope(too_many, 422, "validation_error")


async def test_the_clause_grid_of_a_matter_as_json_and_csv(
    make_settings: SettingsFactory, tenant: Tenant, other_tenant: Tenant
) -> None:
    attorney = tenant["attorney"]
    async with running(create_app(make_settings())) as c:
        matter = await create_matter(c, attorney, name="Vendor review")
        ids = [
            await indexed(c, attorney.headers, data, name, matter_id=matter["id"])
            for name, data, _ in held_out_contracts(2)
        ]
        outside = await indexed(c, attorney.headers, OPINION, "elsewhere.txt")
        wanted = ["Governing Law", "Cap On Liability"]
        body = {"matter_id": matter["id"], "categories": wanted}
        url = f"{API}/analysis/contracts"
        response = await c.post(url, json=body, headers=attorney.headers)
        assert response.status_code == 200, response.text
        grid = response.json()
        assert grid["categories"] == wanted
        assert sorted(row["document_id"] for row in grid["documents"]) == sorted(ids)
        for row in grid["documents"]:
            assert [c["category"] for c in row["clauses"]] == wanted
            [law] = [c for c in row["clauses"] if c["category"] == "Governing Law"]
            stored = await c.get(
                f"{API}/documents/{row['document_id']}/analysis", headers=attorney.headers
            )
            assert [c for c in stored.json()["clauses"] if c["category"] == "Governing Law"] == [
                law
            ]
        csv = await c.post(url, json=body, headers={**attorney.headers, "Accept": "text/csv"})
        assert csv.headers["content-type"].startswith("text/csv")
        table = list(reader(io.StringIO(csv.text)))
        assert table[0] == ["document_id", "title", "status", *wanted]
        assert sorted(r[0] for r in table[1:]) == sorted(ids)
        assert all(
            r[2] == "indexed" and r[3].startswith(("present (", "absent (")) for r in table[1:]
        )
        chosen = await c.post(url, json={"document_ids": [outside]}, headers=attorney.headers)
        assert [row["document_id"] for row in chosen.json()["documents"]] == [outside]
        for bad in (
            {},
            {"matter_id": matter["id"], "categories": ["Horoscope"]},
            {"document_ids": ["00000000-0000-0000-0000-000000000000"]},
        ):
            assert_envelope(
                await c.post(url, json=bad, headers=attorney.headers), 422, "validation_error"
            )
        # Another firm names this firm's matter and documents: nothing is revealed.
        for bad in ({"matter_id": matter["id"]}, {"document_ids": ids}):
            refused = await c.post(url, json=bad, headers=other_tenant.admin.headers)
            assert_envelope(refused, 422, "validation_error")


async def test_tenants_walls_and_roles_apply_as_for_the_document(
    make_settings: SettingsFactory, tenant: Tenant, other_tenant: Tenant
) -> None:
    attorney = tenant["attorney"]
    async with running(create_app(make_settings())) as c:
        walled = await create_matter(c, attorney, name="Sealed", restricted=True)
        document_id = await indexed(
            c, attorney.headers, OPINION, "sealed.txt", matter_id=walled["id"]
        )
        assert (await analyze(c, attorney.headers, document_id)).status_code == 200
        for outsider in (other_tenant.admin.headers, tenant["paralegal"].headers):
            for response in (
                await analyze(c, outsider, document_id),
                await c.get(f"{API}/documents/{document_id}/analysis", headers=outsider),
                await c.post(f"{API}/documents/{document_id}/summary", headers=outsider),
                await c.post(f"{API}/documents/{document_id}/questions", headers=outsider),
            ):
                assert_envelope(response, 404, "not_found")
        # A viewer of the firm reads analyses of open documents but does not run them.
        open_id = await indexed(
            c, attorney.headers, OPINION.replace(b"21-55123", b"21-1"), "open.txt"
        )
        viewer = tenant["viewer"].headers
        assert (
            await c.get(f"{API}/documents/{open_id}/analysis", headers=viewer)
        ).status_code == 404
        refused = await analyze(c, viewer, open_id)
        assert refused.status_code == 403
        await analyze(c, attorney.headers, open_id)
        seen = await c.get(f"{API}/documents/{open_id}/analysis", headers=viewer)
        assert seen.status_code == 200 and seen.json()["fields"]["docket_number"]["value"] == "21-1"


async def test_bad_requests_get_clear_errors(
    make_settings: SettingsFactory, tenant: Tenant
) -> None:
    headers = tenant["attorney"].headers
    settings = make_settings()
    async with running(create_app(settings)) as c:
        document_id = await indexed(c, headers, OPINION, "doe.txt")
        wrong = await analyze(c, headers, document_id, analysis_type="horoscope")
        assert_envelope(wrong, 422, "validation_error")
        extra = await analyze(c, headers, document_id, nonsense=True)
        assert extra.status_code == 422
        missing = await analyze(c, headers, "00000000-0000-0000-0000-000000000000")
        assert missing.status_code == 404
        none_yet = await c.get(f"{API}/documents/{document_id}/analysis", headers=headers)
        assert none_yet.status_code == 404
        for status, code in (("processing", "not_ready"), ("failed", "document_failed")):
            await set_document(settings, document_id, status=status)
            refused = await analyze(c, headers, document_id)
            assert_envelope(refused, 409, code)
