"""The rules of `intelligence.findings` on texts written for them."""

from __future__ import annotations

from lexbase.intelligence.clauses import ClauseModel
from lexbase.intelligence.findings import analyze_case, analyze_contract, locate

ARKANSAS = (
    "Darrell H. POPE v. PENNZOIL PRODUCING CO.\n\n85-152\n\n701 S.W.2d 366\n\n"
    "Supreme Court of Arkansas\n\nOpinion delivered January 13, 1986\n\n"
    "Appellant contends that his interests are not leased. We affirm.\n\nAffirmed.\n"
)
CONTRACT = (
    "SUPPLY AGREEMENT\n\nThis Supply Agreement is made by and between Northwind  Traders "
    'Inc., a Delaware corporation ("Buyer"), and Contoso Ltd., a Texas company '
    '("Seller"), effective as of March 1, 2024.\n\n'
    "This Agreement shall be governed by and construed in accordance with the laws of the "
    "State of New York, without regard to its conflict of laws rules.\n"
)


def test_a_court_named_otherwise_than_its_canonical_name_is_located_on_its_caption_line() -> None:
    metadata = {
        "courts": ["ark"],
        "court_names": ["Arkansas Supreme Court"],
        "jurisdiction": "Arkansas",
        "parties": ["Darrell H. POPE", "PENNZOIL PRODUCING CO."],
        "case_number": "85-152",
        "dates": {"decision": "1986-01-13", "filing": None},
    }
    analysis = analyze_case(ARKANSAS, metadata, [])
    court = analysis.fields["court"]
    assert court.value == {"name": "Arkansas Supreme Court", "id": "ark"}
    [(start, end)] = court.sources
    assert ARKANSAS[start:end] == "Supreme Court of Arkansas"
    assert analysis.fields["disposition"].value == "Affirmed"
    assert [ARKANSAS[a:b] for p in analysis.parties for a, b in p.sources] == [
        "Darrell H. POPE",
        "PENNZOIL PRODUCING CO.",
    ]
    judges = analysis.fields["judges"]
    assert judges.value is None and judges.reason


def test_a_contract_s_preamble_parties_dates_and_governing_law() -> None:
    analysis = analyze_contract(CONTRACT, {}, ClauseModel.load())
    names = [p.name for p in analysis.parties]
    assert names == ["Northwind Traders Inc.", "Contoso Ltd."]  # whitespace made single
    [(start, end)] = analysis.parties[0].sources
    assert CONTRACT[start:end] == "Northwind  Traders Inc."
    [effective] = analysis.key_dates
    assert (effective.kind, effective.date) == ("effective_date", "2024-03-01")
    law = analysis.fields["governing_law"]
    assert law.value == "New York"
    [(start, end)] = law.sources
    assert CONTRACT[start:end] == "New York"


def test_locate_ignores_case_and_spacing_but_not_words() -> None:
    text = "Filed in the UNITED STATES\nDISTRICT   COURT today."
    span = locate(text, "United States District Court")
    assert span is not None and text[span[0] : span[1]] == "UNITED STATES\nDISTRICT   COURT"
    assert locate(text, "United States Bankruptcy Court") is None


def test_sources_name_the_page_their_offsets_fall_on() -> None:
    from lexbase.intelligence.service import _Loaded

    text = "Page one text.\fPage two text.\fPage three."
    pages = [{"page": 1, "start": 0, "end": 14}, {"page": 2, "start": 15, "end": 29}]
    pages.append({"page": 3, "start": 30, "end": len(text)})
    loaded = _Loaded(document=None, kind="contract", key="k", cached=None, text=text, pages=pages)  # type: ignore[arg-type]
    [first, second, third] = loaded.locate([(0, 4), (20, 29), (30, 35)])
    assert (first["page"], second["page"], third["page"]) == (1, 2, 3)
    assert second["quote"] == text[20:29] == "two text."
