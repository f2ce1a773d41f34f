"""A small reader of PromQL expressions: the series names and labels they use, so that a
dashboard or an alert naming a metric the service does not expose is caught before it is
deployed (an unknown name is not an error to Prometheus, only an empty graph)."""

from __future__ import annotations

import re
from collections.abc import Mapping

# name -> (type, labels); a histogram is exposed as name_bucket (with `le`), _sum and _count.
Metrics = Mapping[str, tuple[str, frozenset[str]]]

# Labels Prometheus adds to every scraped series.
TARGET_LABELS = frozenset({"job", "instance"})
# Words that look like series names: keywords, and the label lists that follow some of them.
_KEYWORDS = frozenset(
    {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or"}
    | {"unless", "offset", "inf", "nan"}
)
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)")
_SELECTOR = re.compile(r"([A-Za-z_:][\w:]*)\s*\{([^}]*)\}")
_MATCHER = re.compile(r"([A-Za-z_]\w*)\s*(?:=~|!~|!=|=)")
_NUMBER = re.compile(r"\b\d+(?:\.\d+)?(?:e[+-]?\d+)?(?:ms|[smhdwy])?\b")
_WORD = re.compile(r"[A-Za-z_:][\w:]*")


def series_labels(name: str, metrics: Metrics) -> frozenset[str] | None:
    """The labels a series of this name carries, or None when no metric exposes it."""
    kind, labels = metrics.get(name, ("", frozenset()))
    if kind in {"counter", "gauge"}:
        return labels
    base, _, suffix = name.rpartition("_")
    kind, labels = metrics.get(base, ("", frozenset()))
    if kind == "histogram" and suffix in {"bucket", "sum", "count"}:
        return labels | ({"le"} if suffix == "bucket" else set())
    return None


def names(expr: str) -> set[str]:
    """The series names in an expression (not its functions, keywords, labels or numbers)."""
    bare = _STRING.sub('""', expr)
    bare = _GROUPING.sub("", re.sub(r"\{[^}]*\}|\[[^\]]*\]", "", bare))
    bare = _NUMBER.sub("", bare)
    found = set()
    for match in _WORD.finditer(bare):
        is_call = bare[match.end() :].lstrip().startswith("(")
        if not is_call and match.group().lower() not in _KEYWORDS:
            found.add(match.group())
    return found


def problems(expr: str, metrics: Metrics) -> list[str]:
    """Unknown series names, and labels that none of the expression's series carries."""
    known = {name: series_labels(name, metrics) for name in names(expr)}
    found = [f"unknown metric {name}" for name, labels in known.items() if labels is None]
    allowed = TARGET_LABELS.union(*(labels or () for labels in known.values()))
    for name, matchers in _SELECTOR.findall(_STRING.sub('""', expr)):
        found += [
            f"{name} has no label {label}"
            for label in set(_MATCHER.findall(matchers))
            if label not in allowed
        ]
    for grouping in _GROUPING.findall(expr):
        used = {label.strip() for label in grouping.split(",") if label.strip()}
        found += [f"no metric in the query has label {label}" for label in sorted(used - allowed)]
    return found
