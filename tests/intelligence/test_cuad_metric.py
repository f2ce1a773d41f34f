"""CUAD's metric on cases worked by hand."""

from __future__ import annotations

import math

import pytest

from lexbase.commands.cuad_metric import Curve, counts, curve, jaccard

GOVERNING = "This Agreement is governed by the laws of New York."


def test_jaccard_compares_word_sets_without_punctuation_or_case() -> None:
    assert jaccard(GOVERNING, "this agreement is governed by the laws of new york") == 1.0
    assert jaccard("a/b c", "a b c") == 1.0
    # {governed, by, new, york} shared of {this, agreement, is, governed, by, the, laws, of,
    # new, york} together with "laws of delaware".
    assert jaccard("governed by New York", "governed by Delaware") == pytest.approx(2 / 5)


def test_counts_follow_the_published_rules() -> None:
    labelled = {("a", "Law"): [GOVERNING], ("a", "Cap"): [], ("b", "Law"): [GOVERNING, "x y"]}
    predicted = {
        ("a", "Law"): [GOVERNING, "unrelated words entirely"],  # 1 tp, 1 fp
        ("a", "Cap"): ["anything"],  # nothing labelled: 1 fp
        ("b", "Law"): [GOVERNING],  # 1 tp, "x y" missed: 1 fn
    }
    assert counts(labelled, predicted) == (2, 2, 1)


def test_the_curve_is_made_monotone_and_integrated() -> None:
    labelled = {("a", "Law"): [GOVERNING], ("b", "Law"): ["the cap is one million dollars"]}
    scored = {
        ("a", "Law"): [(GOVERNING, 0.9)],
        ("b", "Law"): [("nothing to do with it", 0.5), ("the cap is one million dollars", 0.2)],
    }
    figures = curve(labelled, scored)
    # Above 0.9: no prediction (precision undefined); from 0.89 to 0.5: 1 of 1 right, recall
    # 1/2; from 0.49 to 0.2: 1 of 2 right; at 0.19 and below: 2 of 3 right, recall 1.
    assert math.isnan(figures.precisions[1])
    assert figures.recalls[-1] == 1.0
    assert figures.precision_at(0.5) == 1.0
    assert figures.precision_at(0.9) == pytest.approx(2 / 3)
    # Monotone precision: 1 from recall 0 to 1/2 (the 1/2 points between are raised to the
    # 2/3 after them), then 2/3 from recall 1/2 to 1.
    assert figures.aupr() == pytest.approx(0.5 * 1.0 + 0.5 * 2 / 3)


def test_no_prediction_at_all_scores_zero() -> None:
    assert Curve([1.0, math.nan], [0.0, math.nan]).aupr() == 0.0
