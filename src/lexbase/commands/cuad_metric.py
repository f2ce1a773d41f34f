"""CUAD's span metric, as the CUAD paper's published evaluation defines it.

- A predicted span matches a labelled one when the Jaccard similarity of their word sets
  is at least 0.5 (words lowercased, "." "," ";" ":" removed, "/" splitting words).
- For one (contract, category) question with labelled spans, each labelled span is a true
  positive when some prediction matches it, else a false negative; each prediction matching
  no labelled span is a false positive. A question with no labelled span makes every
  prediction a false positive.
- Precision and recall are summed over all questions at each confidence threshold (0.99 down
  to 0.01 by 0.01, then 0.001 and 0), keeping predictions whose probability is above it.
  The curve starts at (recall 0, precision 1); precision is made non-increasing in recall
  (each point takes the best precision at any higher recall); AUPR is the trapezoidal area
  under it, and "precision at 80% recall" the precision at the first point reaching it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

MATCH_AT = 0.5
# numpy's own steps (0.99, 0.98…, with their floating-point error), as the published code.
THRESHOLDS = [float(t) for t in np.arange(0.99, 0, -0.01)] + [0.001, 0.0]

Key = tuple[str, str]  # (contract, category)


def jaccard(labelled: str, predicted: str) -> float:
    def words(text: str) -> set[str]:
        for mark in ".,;:":
            text = text.replace(mark, "")
        return set(text.lower().replace("/", " ").split())

    a, b = words(labelled), words(predicted)
    union = a | b
    return len(a & b) / len(union) if union else 0.0


def counts(
    labelled: Mapping[Key, Sequence[str]], predicted: Mapping[Key, Sequence[str]]
) -> tuple[int, int, int]:
    """True positives, false positives and false negatives over all questions."""
    tp = fp = fn = 0
    for key, answers in labelled.items():
        predictions = predicted.get(key, ())
        if not answers:
            fp += len(predictions)
            continue
        for answer in answers:
            if any(jaccard(answer, p) >= MATCH_AT for p in predictions):
                tp += 1
            else:
                fn += 1
        fp += sum(all(jaccard(a, p) < MATCH_AT for a in answers) for p in predictions)
    return tp, fp, fn


@dataclass
class Curve:
    precisions: list[float]
    recalls: list[float]

    @property
    def monotone(self) -> list[float]:
        """Each precision raised to the best at any later (higher-recall) point. A point
        without predictions (precision undefined, NaN) takes the next point's value, as
        Python's `max(next, nan)` in the published code gives."""
        best = list(reversed(self.precisions))
        for i in range(1, len(best)):
            best[i] = max(best[i - 1], best[i])
        return list(reversed(best))

    def aupr(self) -> float:
        precisions, area = self.monotone, 0.0
        for i in range(1, len(self.recalls)):
            width = self.recalls[i] - self.recalls[i - 1]
            area += width * (precisions[i] + precisions[i - 1]) / 2
        return 0.0 if math.isnan(area) else area

    def precision_at(self, recall: float) -> float:
        for precision, reached in zip(self.monotone, self.recalls, strict=True):
            if reached >= recall:
                return precision
        return 0.0


def curve(
    labelled: Mapping[Key, Sequence[str]],
    scored: Mapping[Key, Sequence[tuple[str, float]]],
) -> Curve:
    """`scored`: each question's predicted spans with their probabilities."""
    # One probability per distinct text of a question (the last given, as a dict keeps it).
    distinct = {key: dict(spans) for key, spans in scored.items()}
    precisions, recalls = [1.0], [0.0]
    for threshold in THRESHOLDS:
        predicted = {
            key: [text for text, p in spans.items() if p > threshold]
            for key, spans in distinct.items()
        }
        tp, fp, fn = counts(labelled, predicted)
        precisions.append(tp / (tp + fp) if tp + fp else math.nan)
        recalls.append(tp / (tp + fn) if tp + fn else math.nan)
    return Curve(precisions, recalls)
