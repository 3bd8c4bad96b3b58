"""`prometheus` checks against a local server speaking the Prometheus HTTP API's /api/v1/query."""

from __future__ import annotations

ERROR_RATE = 'sum(rate(http_requests_total{status=~"5.."}[5m])) / sum(rate(http_requests_total[5m]))'


def vector(*samples):
    return {
        "status": "success",
        "data": {
            "resultType": "vector",
            "result": [{"metric": m, "value": [1767600000.0, str(v)]} for m, v in samples],
        },
    }


def test_under_the_threshold_is_up_and_sends_the_query(check, target):
    target.prometheus["answer"] = vector(({"service": "checkout"}, 0.01))
    outcome = check(type="prometheus", url=target.url, query=ERROR_RATE, fail_if="> 0.05")
    assert (outcome.status, outcome.message) == ("up", "1 series, highest 0.01")
    assert target.prometheus["last_query"] == ERROR_RATE


def test_a_series_over_the_threshold_is_named(check, target):
    target.prometheus["answer"] = vector(({"service": "checkout"}, 0.12), ({"service": "search"}, 0.01))
    outcome = check(type="prometheus", url=target.url, query=ERROR_RATE, fail_if="> 0.05")
    assert (outcome.status, outcome.message) == ("down", '{service="checkout"} = 0.12 (> 0.05)')


def test_no_data_follows_on_empty(check, target):
    target.prometheus["answer"] = vector()
    assert check(type="prometheus", url=target.url, query="up", fail_if="< 1").message == "no data"
    assert check(type="prometheus", url=target.url, query="up", fail_if="< 1", on_empty="down").status == "down"


def test_a_query_error_is_down_with_prometheus_message(check, target):
    target.prometheus["answer"] = {"status": "error", "errorType": "bad_data", "error": "parse error at char 5"}
    outcome = check(type="prometheus", url=target.url, query="rate(", fail_if="> 1")
    assert (outcome.status, outcome.message) == ("down", "query failed: parse error at char 5")


def test_a_scalar_result(check, target):
    target.prometheus["answer"] = {"status": "success", "data": {"resultType": "scalar", "result": [1.0, "7"]}}
    assert check(type="prometheus", url=target.url, query="scalar(x)", fail_if=">= 5").message == "scalar = 7 (>= 5)"
