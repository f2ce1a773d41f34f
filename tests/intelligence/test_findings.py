"""The rules of `intelligence.findings` on texts written for them."""

from __future__ import annotations

from lexbase.intelligence.clauses import ClauseFinding, ClauseModel, Span
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
    from lexbase.intelligence.results import Loaded

    text = "Page one text.\fPage two text.\fPage three."
    pages = [{"page": 1, "start": 0, "end": 14}, {"page": 2, "start": 15, "end": 29}]
    pages.append({"page": 3, "start": 30, "end": len(text)})
    loaded = Loaded(document=None, kind="contract", key="k", cached=None, text=text, pages=pages)  # type: ignore[arg-type]
    [first, second, third] = loaded.locate([(0, 4), (20, 29), (30, 35)])
    assert (first["page"], second["page"], third["page"]) == (1, 2, 3)
    assert second["quote"] == text[20:29] == "two text."


OLD_STYLE = (
    "Miller vs. Fraley et al.\n\n[Summary]\n\nAppeal from Independence Circuit Court in "
    "Chancery.\n\nHon. William R. Cain, Special Judge.\n\nMr. Chief Justice English\n\n"
    "delivered the opinion of the Court.\n\nThe lands were sold under execution. It is "
    "clear that the answer does not deny notice.\n\nDarrell Hickman, Justice, dissenting.\n"
    "\nDarrell Hickman, Justice.\n\nI would reverse.\n\nAffirmed.\n"
)


def test_a_decision_s_authors_and_posture_are_read_from_their_own_lines() -> None:
    analysis = analyze_case(OLD_STYLE, {}, [])
    judges = analysis.fields["judges"]
    assert judges.value == ["Mr. Chief Justice English", "Darrell Hickman, Justice"]
    assert [OLD_STYLE[a:b] for a, b in judges.sources] == judges.value
    posture = analysis.fields["procedural_posture"]
    assert posture.value == "Appeal from Independence Circuit Court in Chancery"
    [(start, end)] = posture.sources
    assert OLD_STYLE[start:end] == posture.value
    # No "we hold": the holding is left to a model, which may choose among the sentences
    # that conclude ("It is clear that …") and those before the disposition.
    holding = analysis.fields["holding"]
    assert holding.value is None and holding.reason
    [ask] = analysis.asks
    assert ask.field == "holding" and not ask.verbatim
    chosen = [OLD_STYLE[a:b] for a, b in ask.candidates]
    assert "It is clear that the answer does not deny notice." in chosen
    assert "I would reverse." in chosen


def test_a_holding_the_court_states_is_read_without_a_model() -> None:
    text = "The trial court denied relief. We hold that the statute applies to leases. Affirmed."
    analysis = analyze_case(text, {}, [])
    assert analysis.fields["holding"].value == "We hold that the statute applies to leases."
    assert not [a for a in analysis.asks if a.field == "holding"]


TERMS = (
    'This Agreement is made by and between Acme Inc. ("Supplier") and Beta LLC ("Buyer").\n'
    "This Agreement renews for successive one (1) year periods. "
    "Either party may terminate by giving ninety (90) days written notice. "
    "Supplier's total liability shall not exceed the fees paid by Buyer in the twelve months "
    "before the claim. "
    "The Supplier shall deliver the goods within ten days of an order. "
    "Buyer agrees to pay each invoice when due."
)


def found(text: str, category: str, sentence: str) -> ClauseFinding:
    start = text.index(sentence)
    return ClauseFinding(category, True, 0.9, (Span(start, start + len(sentence), 0.9),))


class Stub:
    """A clause model whose findings a test sets (the rules under it are what is tested)."""

    def __init__(self, findings: list[ClauseFinding]) -> None:
        self.findings = findings

    def find(self, text: str) -> list[ClauseFinding]:
        return self.findings


def test_contract_values_are_read_from_their_clause_s_sentences() -> None:
    model = Stub(
        [
            found(
                TERMS, "Renewal Term", "This Agreement renews for successive one (1) year periods."
            ),
            found(
                TERMS,
                "Termination For Convenience",
                "Either party may terminate by giving ninety (90) days written notice.",
            ),
            found(
                TERMS,
                "Cap On Liability",
                "Supplier's total liability shall not exceed the fees paid by Buyer in the twelve "
                "months before the claim.",
            ),
        ]
    )
    analysis = analyze_contract(TERMS, {}, model)  # type: ignore[arg-type]
    values = {k: v.value for k, v in analysis.fields.items()}
    assert values["renewal_term"] == "one (1) year"
    assert values["notice_period"] == "ninety (90) days"
    assert values["liability_cap"] == "the fees paid by Buyer in the twelve months"
    for name in ("renewal_term", "notice_period", "liability_cap"):
        [(start, end)] = analysis.fields[name].sources
        assert TERMS[start:end] == values[name]
    assert not analysis.asks
    duties = [(o.party, o.text) for o in analysis.obligations]
    assert duties == [
        ("Supplier", "The Supplier shall deliver the goods within ten days of an order."),
        ("Buyer", "Buyer agrees to pay each invoice when due."),
    ]


def test_a_clause_without_a_value_the_rules_read_is_put_to_a_model() -> None:
    text = "The term renews for further periods as the parties agree. Governing law: Texas."
    model = Stub(
        [found(text, "Renewal Term", "The term renews for further periods as the parties agree.")]
    )
    analysis = analyze_contract(text, {}, model)  # type: ignore[arg-type]
    renewal = analysis.fields["renewal_term"]
    assert renewal.value is None and renewal.reason and renewal.sources == [(0, 57)]
    [ask] = analysis.asks
    assert (ask.field, ask.candidates, ask.verbatim) == ("renewal_term", ((0, 57),), True)
    cap = analysis.fields["liability_cap"]
    assert cap.value is None and cap.reason == "no cap on liability clause was found"
