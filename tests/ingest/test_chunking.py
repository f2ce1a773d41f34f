"""Chunking on crafted documents: structure, sizes, sentences, pages and exact offsets."""

from __future__ import annotations

import pytest

from lexbase.ingest.chunking import chunk, sentence_spans
from lexbase.ingest.types import PAGE_SEPARATOR, Chunk, PageSpan

CONTRACT = """MASTER SERVICES AGREEMENT

This Master Services Agreement is entered into by Acme Inc. and Northwind Traders LLC.

1. Definitions

1.1 "Affiliate" means an entity controlling, controlled by or under common control with a party.

1.2 "Services" means the services described in Exhibit A.

2. Term

2.1 Initial Term. This Agreement begins on the Effective Date and continues for three years.

2.2 Renewal. This Agreement renews for successive one-year terms unless either party objects.

ARTICLE III
TERMINATION

3.1 Termination for Convenience. Either party may terminate on ninety days' written notice.

3.2 Effect of Termination. Sections 1 and 2 survive any termination of this Agreement.

IN WITNESS WHEREOF, the parties have signed this Agreement as of the Effective Date.
"""


def _sentence(n: int) -> str:
    return (
        f"The licensee shall report item {n} to the licensor within ten days, as Roe v. Wade, "
        f"410 U.S. 113 (1973), and Acme Inc. v. Smith, 123 F.3d 456 (9th Cir. 1997), require."
    )


def check_invariants(text: str, chunks: list[Chunk], max_chars: int = 2000) -> None:
    """Exact, trimmed, ordered, non-overlapping spans covering every non-space character."""
    assert [c.ordinal for c in chunks] == list(range(len(chunks)))
    previous_end = 0
    for c in chunks:
        assert c.text == text[c.start : c.end]
        assert 0 < c.end - c.start <= max_chars
        assert not c.text[0].isspace() and not c.text[-1].isspace()
        assert PAGE_SEPARATOR not in c.text
        assert c.start >= previous_end
        assert text[previous_end : c.start].isspace() or previous_end == c.start
        previous_end = c.end
    assert not text[previous_end:].strip()


def _containing(chunks: list[Chunk], needle: str, text: str) -> Chunk:
    at = text.index(needle)
    return next(c for c in chunks if c.start <= at < c.end)


@pytest.mark.parametrize("text", ["", "   ", "\n\n\f \t\n", PAGE_SEPARATOR * 3])
def test_empty_or_blank_text_has_no_chunks(text: str) -> None:
    assert chunk(text, []) == []


def test_sections_are_labelled_by_their_nearest_heading() -> None:
    # Small enough that no numbered section fits whole, so each clause is a chunk of its own.
    chunks = chunk(CONTRACT, [], target_chars=60, max_chars=150, min_chars=0)
    check_invariants(CONTRACT, chunks, 150)

    def section(needle: str) -> str | None:
        return _containing(chunks, needle, CONTRACT).section

    assert section("1. Definitions") == "1. Definitions"
    assert section('1.2 "Services"') == '1.2 "Services" means the services described in Exhibit A.'
    assert section("2. Term") == "2. Term"
    assert section("2.1 Initial Term") == "2.1 Initial Term"
    assert section("2.2 Renewal") == "2.2 Renewal"
    assert section("ARTICLE III") == "ARTICLE III TERMINATION"
    assert section("3.1 Termination") == "3.1 Termination for Convenience"
    assert section("IN WITNESS WHEREOF") == "IN WITNESS WHEREOF"
    assert section("This Master Services") == "MASTER SERVICES AGREEMENT"


def test_small_sibling_clauses_are_grouped_under_their_parent() -> None:
    chunks = chunk(CONTRACT, [], target_chars=250, max_chars=400, min_chars=0)
    check_invariants(CONTRACT, chunks, 400)
    term = _containing(chunks, "2.1 Initial Term", CONTRACT)
    assert term.text.startswith("2. Term") and "2.2 Renewal" in term.text
    assert term.section == "2. Term"
    # A group never reaches into the next section, even though it would fit.
    assert "ARTICLE III" not in term.text


def test_a_numbered_clause_that_fits_stays_whole() -> None:
    # Long enough that all of "2. Term" does not fit, so the clause is packed on its own.
    clause = "2.3 Audit. " + " ".join(_sentence(n) for n in range(11))
    clause += "\n\n(a) The auditor shall be independent.\n\n(b) The licensee bears the cost."
    assert 1200 < len(clause) <= 2000
    text = CONTRACT.replace("ARTICLE III", f"{clause}\n\nARTICLE III")
    start, end = text.index(clause), text.index(clause) + len(clause)
    chunks = chunk(text, [], min_chars=0)
    check_invariants(text, chunks)
    whole = _containing(chunks, "2.3 Audit", text)
    assert (whole.start, whole.end, whole.section) == (start, end, "2.3 Audit")
    # With tiny-chunk merging on, the short clause before it may join it, but it stays whole.
    chunks = chunk(text, [])
    check_invariants(text, chunks)
    holder = _containing(chunks, "2.3 Audit", text)
    assert holder.start <= start and end <= holder.end


def test_an_oversized_section_splits_at_paragraphs() -> None:
    paragraphs = [" ".join(_sentence(10 * p + n) for n in range(4)) for p in range(4)]
    text = "5. Confidentiality\n\n" + "\n\n".join(paragraphs) + "\n\n6. Notices\n\nBy mail."
    chunks = chunk(text, [])
    check_invariants(text, chunks)
    starts = {text.index(p) for p in paragraphs}
    inside = [c for c in chunks if c.start > text.index(paragraphs[0])]
    assert all(c.start in starts or c.text.startswith("6. Notices") for c in inside)
    assert {c.section for c in chunks} == {"5. Confidentiality", "6. Notices"}
    # The lone heading joined the first paragraph rather than standing alone.
    assert chunks[0].text.startswith("5. Confidentiality\n\n" + paragraphs[0][:40])


def test_an_oversized_paragraph_splits_at_sentence_ends_only() -> None:
    text = "7. Reports. " + " ".join(_sentence(n) for n in range(30))
    chunks = chunk(text, [])
    check_invariants(text, chunks)
    assert len(chunks) > 2
    for c in chunks:
        assert c.text.endswith("require.")  # never after "v.", "U.S.", "Inc." or "Cir."
        assert len(c.text) <= 1200  # sentences are packed up to the target


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Roe v. Wade, 410 U.S. 113 (1973). The Court held otherwise.",
            ["Roe v. Wade, 410 U.S. 113 (1973).", "The Court held otherwise."],
        ),
        (
            "Acme Inc. shall deliver the Goods. Buyer shall pay.",
            ["Acme Inc. shall deliver the Goods.", "Buyer shall pay."],
        ),
        (
            "See Smith v. Jones, 123 F.3d 456 (9th Cir. 1997). Id. at 461. The end.",
            ["See Smith v. Jones, 123 F.3d 456 (9th Cir. 1997).", "Id. at 461.", "The end."],
        ),
        (
            "Twombly, 550 U.S. 544, 127 S. Ct. 1955 (2007). Next.",
            ["Twombly, 550 U.S. 544, 127 S. Ct. 1955 (2007).", "Next."],
        ),
        (
            "Claims under 42 U.S.C. § 1983 fail. Next.",
            ["Claims under 42 U.S.C. § 1983 fail.", "Next."],
        ),
        ("Jones et al. Filed suit. Next.", ["Jones et al. Filed suit.", "Next."]),
        ("Mr. J. R. Smith, Jr. Signed. Next.", ["Mr. J. R. Smith, Jr. Signed.", "Next."]),
        (
            "Section 4.2. Termination. Either party may terminate.",
            ["Section 4.2. Termination.", "Either party may terminate."],
        ),
        ("4.2. Fees are due. No. 12 applies.", ["4.2. Fees are due.", "No. 12 applies."]),
        (
            'He said "Stop." Then he left! Why? Because.',
            ['He said "Stop."', "Then he left!", "Why?", "Because."],
        ),
    ],
)
def test_sentence_splitter_knows_legal_abbreviations(text: str, expected: list[str]) -> None:
    assert [text[a:b] for a, b in sentence_spans(text)] == expected


def test_sentence_spans_honour_bounds() -> None:
    text = "Preamble. First one. Second one. Tail."
    start, end = text.index("First"), text.index(" Tail")
    assert [text[a:b] for a, b in sentence_spans(text, start, end)] == ["First one.", "Second one."]


def test_a_long_run_on_without_newlines_is_split_at_whitespace() -> None:
    text = " ".join(f"word{n}" for n in range(3000))
    assert len(text) > 20_000 and "\n" not in text
    chunks = chunk(text, [], target_chars=1000, max_chars=1500)
    check_invariants(text, chunks, 1500)
    assert all(c.end == len(text) or text[c.end].isspace() for c in chunks)
    assert all(c.end - c.start <= 1000 for c in chunks)


def test_text_without_any_whitespace_is_cut_hard_at_max_chars() -> None:
    text = "x" * 10_001
    chunks = chunk(text, [], max_chars=2000)
    check_invariants(text, chunks)
    assert [len(c.text) for c in chunks] == [2000] * 5 + [1]


def test_chunks_never_cross_pages_and_know_their_page() -> None:
    body = CONTRACT * 3
    # Page breaks between paragraphs, inside a line and inside a word.
    cuts = [body.index("common control") + 7, body.index("2. Term"), 1500, 2300]
    pieces = [body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)], strict=True)]
    text = PAGE_SEPARATOR.join(pieces)
    pages, offset = [], 0
    for number, piece in enumerate(pieces, start=1):
        pages.append(PageSpan(number, offset, offset + len(piece)))
        offset += len(piece) + 1
    chunks = chunk(text, pages, target_chars=300, max_chars=600, min_chars=100)
    check_invariants(text, chunks, 600)
    for c in chunks:
        span = pages[c.page - 1] if c.page else None
        assert span is not None and span.start <= c.start and c.end <= span.end
    assert {c.page for c in chunks} == {1, 2, 3, 4, 5}
    assert all(c.page is None for c in chunk(text, []))


def test_hard_wrapped_paragraphs_are_found_without_blank_lines() -> None:
    text = (
        "The Supplier shall deliver the Products to the Buyer at the\n"
        "delivery point named in each purchase order, on the dates set\n"
        "out in that order.\n"
        "The Buyer shall pay each invoice within thirty days of its\n"
        "receipt, by wire transfer to the account that the Supplier\n"
        "names in writing.\n"
        "Standard of Review\n"
        "We review the trial court's findings for clear error and its\n"
        "conclusions of law de novo, as the rules require.\n"
    )
    chunks = chunk(text, [], target_chars=50, max_chars=400, min_chars=0)
    check_invariants(text, chunks, 400)
    assert [c.text.split("\n")[0] for c in chunks] == [
        "The Supplier shall deliver the Products to the Buyer at the",
        "The Buyer shall pay each invoice within thirty days of its",
        "Standard of Review",
    ]
    assert chunks[-1].section == "Standard of Review"


def test_opinion_parts_and_numbered_lists_nest() -> None:
    text = (
        "Smith v. Jones\n\n[Opinion: majority]\n\nHays, Justice.\n\n"
        + "\n\n".join(_sentence(n) for n in range(12))
        + "\n\n[Footnotes]\n\n1 The record is silent on this point.\n\n"
        "[Opinion: dissent]\n\nPurtle, Justice, dissenting.\n\nI would reverse."
    )
    chunks = chunk(text, [], target_chars=50, max_chars=1000, min_chars=0)
    check_invariants(text, chunks, 1000)
    assert _containing(chunks, "Hays", text).section == "[Opinion: majority]"
    assert _containing(chunks, "The record is silent", text).section == "[Footnotes]"
    assert _containing(chunks, "I would reverse", text).section == "[Opinion: dissent]"


def test_a_lone_heading_joins_the_first_chunk_of_its_section() -> None:
    body = " ".join(_sentence(n) for n in range(12))
    text = f"ARTICLE IV \u2014 TERMINATION\n\n4.1 Notice. {body}\n\n4.2 Cure. {body}"
    chunks = chunk(text, [])
    check_invariants(text, chunks)
    assert chunks[0].text.startswith("ARTICLE IV \u2014 TERMINATION\n\n4.1 Notice.")
    assert chunks[0].section == "ARTICLE IV \u2014 TERMINATION"
    assert chunks[-1].section == "4.2 Cure"


def test_sizes_are_tunable() -> None:
    text = "\n\n".join(f"{n}. Clause {n}. " + _sentence(n) for n in range(1, 40))
    small = chunk(text, [], target_chars=300, max_chars=500, min_chars=50)
    large = chunk(text, [], target_chars=1500, max_chars=2500, min_chars=50)
    check_invariants(text, small, 500)
    check_invariants(text, large, 2500)
    assert len(small) > 2 * len(large)
    assert chunk(text, []) == chunk(text, [])  # deterministic


@pytest.mark.parametrize(
    ("target", "maximum", "minimum"),
    [(2000, 1000, 100), (1000, 2000, 1500), (0, 0, 0), (10, 20, -1)],
)
def test_inconsistent_sizes_are_refused(target: int, maximum: int, minimum: int) -> None:
    with pytest.raises(ValueError, match="min_chars"):
        chunk("Some text.", [], target_chars=target, max_chars=maximum, min_chars=minimum)


def test_clauses_flattened_onto_one_line_are_still_found() -> None:
    body = " ".join(_sentence(n) for n in range(6))
    text = (
        f"1. Definitions. {body} 2. Fees. 2.1 Amount. {body} 2.2 Taxes. {body}; (a) the licensee "
        f"pays sales taxes; (b) the licensor pays income taxes. 3. Term. {body}"
    )
    assert "\n" not in text
    chunks = chunk(text, [])
    check_invariants(text, chunks)
    fees = _containing(chunks, "2.1 Amount", text)
    assert fees.text.startswith("2. Fees. 2.1 Amount.") and fees.section == "2. Fees"
    taxes = _containing(chunks, "2.2 Taxes", text)
    assert taxes.text.startswith("2.2 Taxes") and taxes.section == "2.2 Taxes"
    assert _containing(chunks, "3. Term", text).text.startswith("3. Term")
    # "Inc. v. Smith" and "U.S. 113" inside the clauses are not clause starts.
    assert all(not c.text.startswith(("v.", "113", "F.3d")) for c in chunks)


def test_contents_lines_running_heads_and_folios_are_not_sections() -> None:
    clause = "The licensee shall keep accurate books of account for three years."
    text = (
        "TABLE OF CONTENTS\n\nARTICLE I DEFINITIONS.............. 1\n\nARTICLE II AUDIT  4\n\n"
        + "\n\n".join(f"ACME CONFIDENTIAL\n\n{n}.\n\n{clause}" for n in range(1, 4))
        + f"\n\nARTICLE II AUDIT\n\n2.1 Books. {clause}\n\nACME CONFIDENTIAL"
    )
    chunks = chunk(text, [], target_chars=40, max_chars=300, min_chars=0)
    check_invariants(text, chunks, 300)
    assert {c.section for c in chunks} == {"TABLE OF CONTENTS", "ARTICLE II AUDIT"}
    assert _containing(chunks, "2.1 Books", text).text.startswith("ARTICLE II AUDIT\n\n2.1")


def test_unwrapped_lines_are_paragraphs_even_without_blank_lines() -> None:
    paragraphs = [_sentence(n) + " " + _sentence(n + 1) for n in range(3)]
    assert all(len(p) > 160 for p in paragraphs)
    text = "\n".join(paragraphs)
    chunks = chunk(text, [], target_chars=100, max_chars=400, min_chars=0)
    assert [c.text for c in chunks] == paragraphs


def test_text_after_a_list_belongs_to_the_clause_not_the_last_item() -> None:
    text = (
        "4.2 Remedies. On a breach the other party may:\n\n"
        f"(a) Notice. {_sentence(1)}\n\n(b) Cure. {_sentence(2)}\n\n"
        f"Nothing in this Section limits any other remedy. {_sentence(3)}\n\n"
        f"    (c) Indented. {_sentence(4)}\n\n        An indented paragraph continues (c)."
    )
    chunks = chunk(text, [], target_chars=100, max_chars=400, min_chars=0)
    check_invariants(text, chunks, 400)
    assert _containing(chunks, "(b) Cure", text).section == "(b) Cure"
    assert _containing(chunks, "Nothing in this Section", text).section == "4.2 Remedies"
    assert _containing(chunks, "An indented paragraph", text).section == "(c) Indented"
