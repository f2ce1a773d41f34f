"""`lexbase train-clauses` and `lexbase eval-clauses`: the clause classifiers built from the
CUAD labels, and measured on contracts they never saw.

The labels are `queries.json` of the CUAD eval set: for each (contract, category) the
labelled spans, as offsets into the contract's text under `corpus/`. Contracts are split by
a checksum of their path — one in five (`crc32 % 5 == 0`) is held out for evaluation, the
rest train — so the split is the same on every machine and for every run. A sentence is a
positive example of a category when it and a labelled span of that category overlap by at
least half of the shorter of the two.
"""

from __future__ import annotations

import hashlib
import json
import time
import zlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from lexbase.commands.cuad_metric import Key, curve
from lexbase.intelligence.clauses import PRESENT_AT, ClauseModel, Span, segments, vectorizer

HELD_OUT = 5  # one contract in five is held out
OVERLAP = 0.5
NBEST = 20  # predicted spans per question, as CUAD's evaluation takes them
NEVER = -20.0  # the intercept of a category with no example: a probability of 2e-9
CANDIDATES = [round(0.05 * i, 2) for i in range(1, 20)]  # presence thresholds tried


@dataclass
class Labels:
    root: Path  # the eval set's folder (queries.json, corpus/)
    categories: list[str]
    spans: dict[Key, list[tuple[int, int]]]
    files: list[str]

    @classmethod
    def load(cls, root: Path) -> Labels:
        tests = json.loads((root / "queries.json").read_text())["tests"]
        spans: dict[Key, list[tuple[int, int]]] = defaultdict(list)
        for test in tests:
            for snippet in test["snippets"]:
                start, end = snippet["span"]
                spans[(snippet["file_path"], test["category"])].append((start, end))
        files = sorted({file for file, _ in spans})
        return cls(root, sorted({t["category"] for t in tests}), dict(spans), files)

    def text(self, file: str) -> str:
        return (self.root / "corpus" / file).read_text(encoding="utf-8")

    def split(self, held_out: bool) -> list[str]:
        return [f for f in self.files if is_held_out(f) == held_out]

    def digest(self) -> str:
        return hashlib.sha256((self.root / "queries.json").read_bytes()).hexdigest()


def is_held_out(file: str) -> bool:
    return zlib.crc32(file.encode()) % HELD_OUT == 0


def sentence_labels(
    spans: Sequence[tuple[int, int]], labelled: Sequence[tuple[int, int]]
) -> NDArray[np.bool_]:
    marks = np.zeros(len(spans), dtype=bool)
    for a, b in labelled:
        for i, (start, end) in enumerate(spans):
            overlap = min(b, end) - max(a, start)
            if overlap > 0 and overlap >= OVERLAP * min(end - start, b - a):
                marks[i] = True
    return marks


def is_tuning(file: str) -> bool:
    """One training contract in four sets the presence thresholds of a first fit on the
    others (the final fit then uses them all)."""
    return zlib.crc32(f"tuning:{file}".encode()) % 4 == 0


def train(labels: Labels, files: Sequence[str], *, c: float, features: int) -> ClauseModel:
    """The classifiers fitted on `files`, with per-category presence thresholds chosen on
    a quarter of them by a first fit on the rest."""
    tuning = [f for f in files if is_tuning(f)]
    fitting = [f for f in files if not is_tuning(f)]
    thresholds = None
    if tuning and fitting:
        first = fit(labels, fitting, c=c, features=features)
        thresholds = presence_thresholds(first, labels, tuning)
    model = fit(labels, files, c=c, features=features)
    if thresholds is not None:
        model.thresholds = thresholds
        model.meta["thresholds"] = f"F1 of presence on {len(tuning)} tuning contracts"
    return model


def presence_thresholds(
    model: ClauseModel, labels: Labels, files: Sequence[str]
) -> NDArray[np.float32]:
    """For each category, the threshold on a contract's best sentence probability that
    gives the best F1 of presence over `files` (PRESENT_AT where none is labelled)."""
    best = np.vstack(
        [
            probabilities.max(axis=0) if len(probabilities) else np.zeros(len(model.categories))
            for _, probabilities in (model.scored(labels.text(f)) for f in files)
        ]
    )
    chosen = np.full(len(model.categories), PRESENT_AT, dtype=np.float32)
    for index, category in enumerate(model.categories):
        present = np.array([(f, category) in labels.spans for f in files])
        if not present.any():
            continue
        scores = [(_f1(best[:, index] >= t, present), -abs(t - PRESENT_AT), t) for t in CANDIDATES]
        chosen[index] = max(scores)[2]
    return chosen


def _f1(predicted: NDArray[np.bool_], present: NDArray[np.bool_]) -> float:
    tp = int((predicted & present).sum())
    fp, fn = int((predicted & ~present).sum()), int((~predicted & present).sum())
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def fit(labels: Labels, files: Sequence[str], *, c: float, features: int) -> ClauseModel:
    """One logistic regression per category over the sentences of `files`."""
    from sklearn.linear_model import LogisticRegression

    sentences: list[str] = []
    targets: list[NDArray[np.bool_]] = []
    for file in files:
        text = labels.text(file)
        spans = segments(text)
        sentences += [text[a:b] for a, b in spans]
        targets.append(
            np.column_stack(
                [sentence_labels(spans, labels.spans.get((file, k), [])) for k in labels.categories]
            )
        )
    y = np.vstack(targets)
    features_of = vectorizer()
    features_of.set_params(min_df=2, max_features=features)
    x = features_of.fit_transform(sentences)
    coef = np.zeros((len(labels.categories), x.shape[1]), dtype=np.float32)
    intercept = np.zeros(len(labels.categories), dtype=np.float32)
    for index in range(len(labels.categories)):
        if not y[:, index].any():  # never seen: never found
            intercept[index] = NEVER
            continue
        model = LogisticRegression(C=c, solver="liblinear", max_iter=1000, random_state=0)
        model.fit(x, y[:, index])
        coef[index], intercept[index] = model.coef_[0], model.intercept_[0]
    meta = {
        "trained_on": "CUAD labels (CC BY 4.0), ../shared/eval/legalbench-cuad/queries.json",
        "labels_sha256": labels.digest(),
        "contracts": len(files),
        "held_out": f"crc32(path) % {HELD_OUT} == 0",
        "sentences": len(sentences),
        "c": c,
        "features": int(x.shape[1]),
    }
    vocabulary = [str(v) for v in features_of.get_feature_names_out()]
    return ClauseModel(
        labels.categories, vocabulary, features_of.idf_.astype(np.float32), coef, intercept, meta
    )


@dataclass
class CategoryFigures:
    true_pos: int = 0  # contracts where the category is labelled and found present
    false_pos: int = 0
    false_neg: int = 0
    cited_chars: int = 0
    labelled_chars: int = 0
    overlap_chars: int = 0


@dataclass
class ClauseReport:
    contracts: int = 0
    aupr: float = 0.0
    precision_at_80: float = 0.0
    precision_at_90: float = 0.0
    seconds_per_contract: float = 0.0
    categories: dict[str, CategoryFigures] = field(default_factory=dict)

    def lines(self) -> list[str]:
        def share(n: int, of: int) -> str:
            return f"{100 * n / of:5.1f}%" if of else "  n/a "

        total = CategoryFigures()
        for figures in self.categories.values():
            for name in vars(total):
                setattr(total, name, getattr(total, name) + getattr(figures, name))
        out = [
            f"contracts {self.contracts} (held out from training)",
            f"CUAD AUPR {100 * self.aupr:.1f}, precision at 80% recall "
            f"{100 * self.precision_at_80:.1f}, at 90% recall {100 * self.precision_at_90:.1f}",
            f"presence precision {share(total.true_pos, total.true_pos + total.false_pos)}"
            f", recall {share(total.true_pos, total.true_pos + total.false_neg)}",
            f"span characters precision {share(total.overlap_chars, total.cited_chars)}"
            f", recall {share(total.overlap_chars, total.labelled_chars)}",
            f"time per contract {self.seconds_per_contract * 1000:.0f} ms",
            "category: presence precision, recall | span chars precision, recall",
        ]
        for name, f in sorted(self.categories.items()):
            out.append(
                f"  {name}: {share(f.true_pos, f.true_pos + f.false_pos)}"
                f" {share(f.true_pos, f.true_pos + f.false_neg)}"
                f" | {share(f.overlap_chars, f.cited_chars)}"
                f" {share(f.overlap_chars, f.labelled_chars)}"
            )
        return out


def evaluate(model: ClauseModel, labels: Labels, files: Sequence[str]) -> ClauseReport:
    report = ClauseReport(contracts=len(files))
    report.categories = {k: CategoryFigures() for k in model.categories}
    labelled: dict[Key, list[str]] = {}
    scored: dict[Key, list[tuple[str, float]]] = {}
    elapsed = 0.0
    for file in files:
        text = labels.text(file)
        started = time.perf_counter()
        spans, probabilities = model.scored(text)
        findings = model.findings(spans, probabilities)
        elapsed += time.perf_counter() - started
        for index, finding in enumerate(findings):
            category = finding.category
            truth = labels.spans.get((file, category), [])
            labelled[(file, category)] = [text[a:b] for a, b in truth]
            column = probabilities[:, index]
            best = np.argsort(-column, kind="stable")[:NBEST]
            scored[(file, category)] = [
                (text[spans[i][0] : spans[i][1]], float(column[i])) for i in best
            ]
            _tally(report.categories[category], finding.present, finding.spans, truth)
    figures = curve(labelled, scored)
    report.aupr = figures.aupr()
    report.precision_at_80 = figures.precision_at(0.8)
    report.precision_at_90 = figures.precision_at(0.9)
    report.seconds_per_contract = elapsed / max(1, len(files))
    return report


def _tally(
    figures: CategoryFigures,
    present: bool,
    cited: Sequence[Span],
    truth: Sequence[tuple[int, int]],
) -> None:
    figures.true_pos += present and bool(truth)
    figures.false_pos += present and not truth
    figures.false_neg += (not present) and bool(truth)
    marked = _covered([(s.start, s.end) for s in cited])
    labelled = _covered(truth)
    figures.cited_chars += len(marked)
    figures.labelled_chars += len(labelled)
    figures.overlap_chars += len(marked & labelled)


def _covered(spans: Sequence[tuple[int, int]]) -> set[int]:
    return {i for a, b in spans for i in range(a, b)}
