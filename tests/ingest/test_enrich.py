"""enrich() on crafted text: exact offsets, citation kinds and resolution, caption fields, types."""

from __future__ import annotations

import pytest

from lexbase.ingest.enrich import enrich
from lexbase.ingest.enrichment.citations import SEGMENT_CHARS
from lexbase.ingest.types import Citation

BRIEF_CITES = (
    "In Roe v. Wade, 410 U.S. 113, 120 (1973), the Court held as much.  Id. at 125.\n"
    "See 42 U.S.C.\n§ 1983; Smith v. Jones, 123 F.3d\n456, 460 (9th Cir. 1999).\n\n"
    "Roe, 410 U.S. at 150. Smith, supra, at 461. Ark. Stat. Ann. § 72-613 (Repl. 1979)."
)


def _by_text(citations: list[Citation]) -> dict[str, Citation]:
    return {citation.text: citation for citation in citations}


def test_offsets_index_the_original_text_through_layout_whitespace() -> None:
    text = "Held:\u00a0see  Roe\u00adv. Wade,\t410  U.S.\r\n113 (1973);\f\n\n42 U.S.C.  §  1983."
    citations = enrich(text).citations
    assert [c.normalized for c in citations] == ["410 U.S. 113", "42 U.S.C. § 1983"]
    for citation in citations:
        assert text[citation.start : citation.end] == citation.text
    assert citations[0].start == text.index("410")
    assert citations[0].end == text.index("113") + 3
    assert citations[0].text == "410  U.S.\r\n113"
    assert citations[1].end == len(text) - 1


def test_case_citation_fields() -> None:
    roe = _by_text(enrich(BRIEF_CITES).citations)["410 U.S. 113"]
    assert (roe.kind, roe.reporter, roe.volume, roe.page) == ("case", "U.S.", "410", "113")
    assert (roe.pinpoint, roe.year, roe.court) == ("120", "1973", "scotus")
    assert roe.case_name == "Roe v. Wade"
    smith = _by_text(enrich(BRIEF_CITES).citations)["123 F.3d\n456"]
    assert (smith.normalized, smith.pinpoint, smith.year, smith.court) == (
        "123 F.3d 456",
        "460",
        "1999",
        "ca9",
    )
    assert smith.case_name == "Smith v. Jones"


def test_statute_keeps_its_section_sign() -> None:
    statute = _by_text(enrich(BRIEF_CITES).citations)["42 U.S.C.\n§ 1983"]
    assert statute.kind == "statute"
    assert statute.normalized == "42 U.S.C. § 1983"
    assert (statute.reporter, statute.volume, statute.page) == ("U.S.C.", "42", "1983")


def test_id_supra_and_short_forms_resolve_to_their_full_citation() -> None:
    cites = _by_text(enrich(BRIEF_CITES).citations)
    resolved = {
        "Id. at 125": ("id", "410 U.S. 113", "125", "Roe v. Wade"),
        "410 U.S. at 150": ("short", "410 U.S. 113", "150", "Roe v. Wade"),
        "supra, at 461": ("supra", "123 F.3d 456", "461", "Smith v. Jones"),
    }
    for text, (kind, normalized, pinpoint, name) in resolved.items():
        citation = cites[text]
        assert (citation.kind, citation.normalized, citation.pinpoint) == (
            kind,
            normalized,
            pinpoint,
        )
        assert citation.case_name == name
    assert cites["supra, at 461"].reporter == "F.3d"


def test_unresolvable_id_keeps_its_own_text() -> None:
    citation = enrich("As noted. Id. at 5.").citations[0]
    assert (citation.kind, citation.normalized, citation.pinpoint) == ("id", "Id. at 5", "5")


def test_a_section_eyecite_cannot_place_is_widened_to_its_code() -> None:
    citation = _by_text(enrich(BRIEF_CITES).citations)["Ark. Stat. Ann. § 72-613"]
    assert (citation.kind, citation.reporter, citation.page) == (
        "other",
        "Ark. Stat. Ann.",
        "72-613",
    )
    assert enrich("Texas Insurance Code § 4001.003(1) applies.").citations[0].text == (
        "Texas Insurance Code § 4001.003(1)"
    )
    assert enrich("under § 5(a)(1) of the act").citations[0].text == "§ 5(a)(1)"


def test_year_comes_from_the_citations_own_parenthetical() -> None:
    # eyecite alone reads 1985 for both: it runs on to the statute's "(Supp. 1985)".
    text = (
        "Bosnick v. Lawson, 271 Ark. 351, 609 S.W.2d 23 (1980); "
        "Ark. Stat. Ann. § 5-713(h)(5) (Supp. 1985)."
    )
    cases = [c for c in enrich(text).citations if c.kind == "case"]
    assert [(c.normalized, c.year) for c in cases] == [
        ("271 Ark. 351", "1980"),
        ("609 S.W.2d 23", "1980"),
    ]
    assert {c.case_name for c in cases} == {"Bosnick v. Lawson"}


def test_no_case_name_taken_from_across_an_earlier_citation() -> None:
    text = "Roe v. Wade, 410 U.S. 113 (1973).\n\nSmith v. Jones, 1 F.3d 2. We agree."
    second = enrich(text).citations[1]
    assert second.normalized == "1 F.3d 2"
    assert second.case_name != "Wade"


def test_long_documents_are_read_in_pieces_without_losing_citations() -> None:
    paragraph = "The rule is settled. Roe v. Wade, 410 U.S. 113 (1973). Id. at 120. " * 20
    for separator in ("\n\n", " "):  # paragraph breaks, and one long PDF-like paragraph
        text = separator.join([paragraph] * (3 * SEGMENT_CHARS // len(paragraph)))
        citations = enrich(text).citations
        assert len(citations) == 2 * text.count("410 U.S. 113")
        assert all(text[c.start : c.end] == c.text for c in citations)
        assert {c.normalized for c in citations} == {"410 U.S. 113"}


CONTRACT = """MASTER SERVICES AGREEMENT

This Master Services Agreement (the "Agreement") is made and entered into as of March 1, 2021
(the "Effective Date") by and between Acme Widgets, Inc., a Delaware corporation (hereinafter
"Acme"), and Northwind Traders LLC ("Northwind").

WHEREAS, Acme wishes to obtain services; and WHEREAS, Northwind is willing to provide them;

NOW, THEREFORE, the parties agree as follows:

1. Services. Northwind shall perform the services described in Exhibit A.

IN WITNESS WHEREOF, the parties have executed this Agreement as of the Effective Date.
"""

MOTION = """IN THE UNITED STATES DISTRICT COURT
FOR THE EASTERN DISTRICT OF ARKANSAS
WESTERN DIVISION

JANE DOE, et al.,
Plaintiffs,
v.
ACME WIDGETS, INC., a Delaware corporation,
Defendant.

Case No. 4:20-cv-01234-ABC

DEFENDANT'S MOTION TO DISMISS FOR FAILURE TO STATE A CLAIM

Defendant Acme Widgets, Inc. respectfully moves the Court to dismiss the complaint. See
Bell Atl. Corp. v. Twombly, 550 U.S. 544, 570 (2007).

Filed 05/12/20
"""

OPINION = """SUPREME COURT OF ARKANSAS

No. CR 86-12

John SMITH, Appellant, v. STATE of Arkansas, Appellee

Opinion delivered June 2, 1986

Appeal from the Pulaski Circuit Court; Floyd J. Lofton, Judge; affirmed.

Jack Holt, Jr., Chief Justice.

The appellant was convicted on March 3, 1985. We affirm. See Harris v. State,
284 Ark. 247, 681 S.W.2d 334 (1984); Ark. Stat. Ann. § 41-1501 (Repl. 1977).

Affirmed.
"""

BRIEF = """IN THE SUPREME COURT OF ARKANSAS

No. 85-123

JOHN SMITH, Appellant,
v.
JANE JONES, Appellee.

BRIEF OF APPELLANT

STATEMENT OF THE CASE

ARGUMENT

The trial court erred. Harris v. State, 284 Ark. 247 (1984).

CONCLUSION

Respectfully submitted,
"""

STATUTE = """AN ACT TO AMEND THE ARKANSAS CODE CONCERNING RECORDS

BE IT ENACTED BY THE GENERAL ASSEMBLY OF THE STATE OF ARKANSAS:

SECTION 1. Arkansas Code § 25-19-105 is amended to read as follows:
SECTION 2. This act shall take effect on July 1, 2021.
"""

LETTER = "Dear Ms. Smith,\n\nThank you for your letter of May 5, 2020. We will reply soon.\n"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (CONTRACT, "contract"),
        (MOTION, "motion"),
        (OPINION, "opinion"),
        (BRIEF, "brief"),
        (STATUTE, "statute"),
        (LETTER, "other"),
    ],
    ids=["contract", "motion", "opinion", "brief", "statute", "letter"],
)
def test_document_type(text: str, expected: str) -> None:
    assert enrich(text).document_type == expected


def test_district_court_caption() -> None:
    metadata = enrich(MOTION)
    assert metadata.courts == ["ared"]
    assert metadata.court_names == [
        "United States District Court for the Eastern District of Arkansas"
    ]
    assert metadata.jurisdiction == "United States"
    assert metadata.parties == ["JANE DOE", "ACME WIDGETS, INC."]
    assert metadata.case_number == "4:20-cv-01234-ABC"
    assert metadata.filing_date == "2020-05-12"
    assert metadata.decision_date is None  # a motion is not a decision
    assert [c.normalized for c in metadata.citations] == ["550 U.S. 544"]


def test_state_supreme_court_opinion() -> None:
    metadata = enrich(OPINION)
    assert (metadata.courts, metadata.jurisdiction) == (["ark"], "Arkansas")
    assert metadata.parties == ["John SMITH", "STATE of Arkansas"]
    assert metadata.case_number == "CR 86-12"
    assert metadata.decision_date == "1986-06-02"
    assert metadata.dates == ["1985-03-03"]
    assert [c.kind for c in metadata.citations] == ["case", "case", "other"]


@pytest.mark.parametrize(
    ("caption", "court", "jurisdiction"),
    [
        (
            "United States Court of Appeals\nfor the Ninth Circuit\n\nNo. 20-16276",
            "ca9",
            "United States",
        ),
        ("SUPREME COURT OF THE UNITED STATES\n\nNo. 11\u2013889", "scotus", "United States"),
        ("IN THE SUPREME COURT OF NORTH CAROLINA\n\nNo. 363A14-4", "nc", "North Carolina"),
        ("UNITED STATES BANKRUPTCY COURT\nSOUTHERN DISTRICT OF NEW YORK", "nysb", "United States"),
    ],
)
def test_court_captions(caption: str, court: str, jurisdiction: str) -> None:
    metadata = enrich(caption)
    assert (metadata.courts, metadata.jurisdiction) == ([court], jurisdiction)


def test_the_court_appealed_from_is_not_the_documents_court() -> None:
    text = (
        "Appeal from the United States District Court for the Western District of Texas\n"
        "CERTIORARI TO THE UNITED STATES COURT OF APPEALS FOR THE TENTH CIRCUIT\n"
        "The Circuit Court of Pulaski County denied the motion.\n"
        "Error to Union Circuit Court."
    )
    assert enrich(text).courts == []


@pytest.mark.parametrize(
    ("caption", "parties"),
    [
        (
            "Pat V. LIVINGSTON, M.D. v. ARKANSAS STATE MEDICAL BOARD",
            ["Pat V. LIVINGSTON, M.D.", "ARKANSAS STATE MEDICAL BOARD"],
        ),
        ("Conway vs. Kinsworthy et al.", ["Conway", "Kinsworthy"]),
        ("John DOE, Appellant, v. Richard ROE, Appellee", ["John DOE", "Richard ROE"]),
        (
            "CALVARY CHAPEL OF BANGOR,\nPlaintiff, Appellant,\nv.\n"
            "JANET T. MILLS, in her official\ncapacity as Governor of the State of Maine,\n"
            "Defendant, Appellee.\n\nAPPEAL FROM THE COURT",
            ["CALVARY CHAPEL OF BANGOR", "JANET T. MILLS"],
        ),
        (
            "Vanessa St. Pierre,\nPlaintiff\u2014Appellant,\nversus\nStandard Insurance Company; "
            "Dearborn National Life Insurance Company,\nDefendants\u2014Appellees.",
            [
                "Vanessa St. Pierre",
                "Standard Insurance Company",
                "Dearborn National Life Insurance Company",
            ],
        ),
        (
            "NICHOLE JAGELS, ) No. ED108783\n) \nAppellant, ) Appeal from\nvs. )\n"
            "STATE OF MISSOURI, )\nRespondent. )",
            ["NICHOLE JAGELS", "STATE OF MISSOURI"],
        ),
        ("IN THE MATTER OF THE ADOPTION OF Nicole Michelle GLOVER", ["Nicole Michelle GLOVER"]),
        (
            "In Loveless v. May, supra, we held that a mother who moved had not lost her right.",
            [],
        ),
    ],
    ids=["inline-caps", "vs", "roles", "multi-line", "semicolons", "columns", "in-re", "sentence"],
)
def test_parties(caption: str, parties: list[str]) -> None:
    assert enrich(caption).parties == parties


@pytest.mark.parametrize(
    ("caption", "number"),
    [
        ("JOHN SMITH v. STATE\n\n85-201\n\n701 S.W.2d 361", "85-201"),
        ("SMITH v. STATE\n\nCR 85-153-A", "CR 85-153-A"),
        ("No. 11\u2013889. Argued April 23, 2013", "11-889"),
        ("Docket #: 17-3510\nDC Docket #: 17-cv-6761", "17-3510"),
        ("USDC No. 3:20-CV-257\nCase Number: 17-2678", "17-2678"),
        (
            "Case 8:16-cv-01261-DOC-KES Document 40 Filed 08/05/16 Page 1 of 4",
            "8:16-cv-01261-DOC-KES",
        ),
        ("No response by appellee.", None),
        ("Case No. 1:21-cv-______________", None),
        ("Telephone 215-597-2995\n1986-01-13", None),
    ],
)
def test_case_number(caption: str, number: str | None) -> None:
    assert enrich(caption).case_number == number


def test_dates() -> None:
    text = (
        "UNITED STATES COURT OF APPEALS FOR THE FIRST CIRCUIT\nDate Filed: 12/22/2020\n\n"
        "OPINION\n\nThe complaint was filed on March 3, 2019 and amended 11 April 2019; on "
        "2019-04-11 the court ruled, and again on Sept. 9,2019. It is so ordered."
    )
    metadata = enrich(text)
    assert metadata.document_type == "opinion"
    assert metadata.filing_date == "2020-12-22"
    assert metadata.decision_date == "2020-12-22"  # an opinion dated only by its filing
    assert metadata.dates == ["2019-03-03", "2019-04-11", "2019-09-09"]


def test_decided_label_and_impossible_dates() -> None:
    metadata = enrich("No. 11-889. Argued April 23, 2013—Decided June 13, 2013. On Feb. 30, 2013.")
    assert metadata.decision_date == "2013-06-13"
    assert metadata.dates == ["2013-04-23"]


def test_dates_list_is_capped() -> None:
    text = " ".join(f"On January {day}, 2001 and March {day}, 2002." for day in range(1, 29))
    assert len(enrich(text).dates) == 50


@pytest.mark.parametrize("text", ["", "   ", "\n\n\u00ad\u200b", "§", "v."])
def test_empty_and_degenerate_text(text: str) -> None:
    metadata = enrich(text)
    assert metadata.citations == []
    assert (metadata.courts, metadata.parties, metadata.case_number) == ([], [], None)
    assert (metadata.decision_date, metadata.dates, metadata.document_type) == (None, [], "other")


def test_deterministic() -> None:
    assert enrich(OPINION + BRIEF_CITES) == enrich(OPINION + BRIEF_CITES)
