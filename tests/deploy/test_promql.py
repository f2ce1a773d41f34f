"""The PromQL reader that checks the dashboard's and the alerts' metric names."""

from __future__ import annotations

from tests.deploy import promql

METRICS: promql.Metrics = {
    "requests_total": ("counter", frozenset({"route", "status"})),
    "duration_seconds": ("histogram", frozenset({"route"})),
    "workers": ("gauge", frozenset()),
}


def test_names_are_series_not_functions_keywords_labels_or_numbers() -> None:
    expr = (
        "histogram_quantile(0.95, sum by (le, route) (rate(duration_seconds_bucket"
        '{route!~"/ws|x=y"}[$__rate_interval]))) > 2e3 and absent(workers) or up offset 5m'
    )
    assert promql.names(expr) == {"duration_seconds_bucket", "workers", "up"}


def test_histograms_expose_bucket_sum_and_count_only() -> None:
    assert promql.series_labels("duration_seconds_bucket", METRICS) == frozenset({"route", "le"})
    assert promql.series_labels("duration_seconds_count", METRICS) == frozenset({"route"})
    assert promql.series_labels("duration_seconds", METRICS) is None
    assert promql.series_labels("requests_total_bucket", METRICS) is None


def test_problems_name_unknown_series_and_labels() -> None:
    assert promql.problems('sum by (status) (rate(requests_total{route="/"}[5m]))', METRICS) == []
    assert promql.problems('sum by (kind, instance) (requests_total{typo="x"})', METRICS) == [
        "requests_total has no label typo",
        "no metric in the query has label kind",
    ]
    assert promql.problems("rate(request_total[5m])", METRICS) == ["unknown metric request_total"]
