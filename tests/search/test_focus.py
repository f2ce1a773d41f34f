"""Splitting a query into the document it names and the question it asks."""

from __future__ import annotations

import pytest

from lexbase.search.focus import focused_documents, split_reference


@pytest.mark.parametrize(
    ("query", "reference", "question"),
    [
        (
            "Consider the Supply Agreement between Acme and Northwind; What is the term?",
            "Consider the Supply Agreement between Acme and Northwind",
            "What is the term?",
        ),
        ("Acme lease: renewal options", "Acme lease", "renewal options"),
        # A separator with no words on one side is not a reference clause.
        ("; governing law", None, None),
        ("the; governing law", None, None),
        ("governing law of the Acme agreement", None, None),
        # "12:30" is not a separator (no space after the colon).
        ("meeting at 12:30 about indemnity", None, None),
    ],
)
def test_split_reference(query: str, reference: str | None, question: str | None) -> None:
    parts = split_reference(query)
    if reference is None:
        assert parts is None
    else:
        assert parts is not None
        assert (parts.reference.text, parts.question.text) == (reference, question)


@pytest.mark.parametrize(
    ("ranked", "expected"),
    [
        ([], []),
        ([("a", 9.0)], ["a"]),
        ([("a", 9.0), ("b", 3.0)], ["a"]),  # clear winner
        ([("a", 9.0), ("b", 8.5), ("c", 2.0)], ["a", "b"]),  # two close ones
        ([("a", 9.0), ("b", 8.9), ("c", 8.8), ("d", 8.7)], []),  # nothing stands out
        ([("a", 0.0)], []),
    ],
)
def test_focused_documents(ranked: list[tuple[str, float]], expected: list[str]) -> None:
    assert focused_documents(ranked) == expected
