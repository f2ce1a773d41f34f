"""The clause classifiers: the bundled model finds clauses located exactly in a contract it
was not trained on; `train-clauses` rebuilds a model deterministically; `eval-clauses`
reports CUAD's metric on held-out contracts."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lexbase.commands.clauses import (
    Labels,
    is_held_out,
    presence_thresholds,
    sentence_labels,
    train,
)
from lexbase.intelligence.clauses import BUNDLED, ClauseModel

CUAD = Path(__file__).resolve().parents[3] / "shared" / "eval" / "legalbench-cuad"
LEXBASE = [sys.executable, "-m", "lexbase"]


@pytest.fixture(scope="module")
def labels() -> Labels:
    return Labels.load(CUAD)


@pytest.fixture(scope="module")
def bundled() -> ClauseModel:
    return ClauseModel.load()


def test_the_bundled_model_was_trained_on_these_labels_without_the_held_out_contracts(
    labels: Labels, bundled: ClauseModel
) -> None:
    assert bundled.meta["labels_sha256"] == labels.digest()
    assert bundled.meta["contracts"] == len(labels.split(held_out=False))
    assert bundled.categories == labels.categories and len(bundled.categories) == 35
    assert BUNDLED.stat().st_size < 8_000_000


def test_a_held_out_contract_s_governing_law_is_found_at_its_offsets(
    labels: Labels, bundled: ClauseModel
) -> None:
    held_out = [f for f in labels.split(held_out=True) if (f, "Governing Law") in labels.spans]
    assert held_out and all(is_held_out(f) for f in held_out)
    found = 0
    for file in held_out[:10]:
        text = labels.text(file)
        [finding] = bundled.find(text, ["Governing Law"])
        if not finding.present:
            continue
        found += 1
        best = finding.spans[0]
        threshold = bundled.thresholds[bundled.categories.index("Governing Law")]
        assert best.probability >= threshold and finding.confidence == pytest.approx(
            best.probability, abs=1e-4
        )
        assert re.search(r"\blaws?\b", text[best.start : best.end], re.IGNORECASE)
        truth = labels.spans[(file, "Governing Law")]
        assert any(best.start < b and a < best.end for a, b in truth), file
    assert found >= 7  # of 10; the held-out presence recall is about 86%


def test_sentences_are_labelled_by_their_overlap_with_the_labelled_spans() -> None:
    sentences = [(0, 100), (100, 200), (200, 400)]
    marks = sentence_labels(sentences, [(90, 180), (390, 420)])
    # 80 of the second sentence's 100 characters; 10 of the first's; 10 of the 30 labelled.
    assert marks.tolist() == [False, True, False]


def test_training_is_deterministic_and_sets_presence_thresholds(labels: Labels) -> None:
    files = labels.split(held_out=False)[:24]
    first = train(labels, files, c=4.0, features=2000)
    second = train(labels, files, c=4.0, features=2000)
    assert np.array_equal(first.coef, second.coef)
    assert np.array_equal(first.thresholds, second.thresholds)
    assert first.meta["contracts"] == 24 and "tuning contracts" in first.meta["thresholds"]
    assert ((first.thresholds > 0) & (first.thresholds < 1)).all()


def lexbase(*args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEXBASE_")}
    done = subprocess.run(
        [*LEXBASE, *args], capture_output=True, text=True, timeout=600, env=env, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_train_and_eval_commands(tmp_path: Path) -> None:
    model = tmp_path / "clauses.npz"
    trained = lexbase(
        "train-clauses", str(CUAD), "--out", str(model), "--contracts", "40", "--features", "5000"
    )
    assert "trained on 40 contracts" in trained and model.exists()
    report = lexbase("eval-clauses", str(CUAD), "--model", str(model), "--contracts", "12")
    assert "contracts 12 (held out from training)" in report
    aupr = float(re.search(r"CUAD AUPR ([\d.]+)", report).group(1))  # type: ignore[union-attr]
    assert 5 < aupr <= 100
    assert re.search(r"  Governing Law: +[\d.]+% +[\d.]+% \|", report)


def test_a_presence_threshold_is_the_one_with_the_best_f1() -> None:
    class Scores:
        categories = ["Governing Law", "Audit Rights"]

        def scored(self, text: str) -> tuple[list[tuple[int, int]], np.ndarray]:
            best = {"a": [0.9, 0.1], "b": [0.3, 0.2], "c": [0.2, 0.1]}[text]
            return [(0, 1)], np.array([best], dtype=np.float32)

    class Fake:
        spans = {("a", "Governing Law"): [(0, 1)], ("b", "Governing Law"): [(0, 1)]}

        def text(self, file: str) -> str:
            return file

    chosen = presence_thresholds(Scores(), Fake(), ["a", "b", "c"])  # type: ignore[arg-type]
    # Law: labelled in a and b (best 0.9, 0.3), not in c (0.2): any threshold in (0.2, 0.3]
    # finds both and nothing else; 0.3 is the one nearest 0.5. Audit rights: never labelled.
    assert chosen.tolist() == [pytest.approx(0.3), 0.5]
