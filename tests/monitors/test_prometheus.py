"""`prometheus` checks against a real Prometheus (Debian's) on a loopback port, scraping itself every second."""

from __future__ import annotations

import re


def test_under_the_threshold_is_up(check, prometheus_url):
    outcome = check(type="prometheus", url=prometheus_url, query='up{job="self"}', fail_if="< 1")
    assert (outcome.status, outcome.message) == ("up", "1 series, highest 1")


def test_a_series_over_the_threshold_is_named_with_its_labels(check, prometheus_url):
    outcome = check(type="prometheus", url=prometheus_url, query='up{job="self"}', fail_if="> 0")
    assert outcome.status == "down"
    assert re.fullmatch(r'up\{instance="127\.0\.0\.1:\d+",job="self"\} = 1 \(> 0\)', outcome.message), outcome.message


def test_an_aggregate_over_real_series_is_compared(check, prometheus_url):
    # The share of scrape targets that are down: 0 while Prometheus scrapes itself.
    query = '1 - sum(up{job="self"}) / count(up{job="self"})'
    outcome = check(type="prometheus", url=prometheus_url, query=query, fail_if="> 0.05")
    assert (outcome.status, outcome.message) == ("up", "1 series, highest 0")


def test_no_data_follows_on_empty(check, prometheus_url):
    query = 'up{job="nobody"}'
    assert check(type="prometheus", url=prometheus_url, query=query, fail_if="< 1").message == "no data"
    outcome = check(type="prometheus", url=prometheus_url, query=query, fail_if="< 1", on_empty="down")
    assert (outcome.status, outcome.message) == ("down", "no data")


def test_a_query_error_is_down_with_prometheus_message(check, prometheus_url):
    outcome = check(type="prometheus", url=prometheus_url, query="rate(", fail_if="> 1")
    assert outcome.status == "down"
    assert outcome.message.startswith("query failed: ") and "parse error" in outcome.message


def test_a_scalar_result(check, prometheus_url):
    outcome = check(type="prometheus", url=prometheus_url, query="scalar(vector(7))", fail_if=">= 5")
    assert (outcome.status, outcome.message) == ("down", "scalar = 7 (>= 5)")


def test_a_range_vector_is_refused_with_what_to_write(check, prometheus_url):
    outcome = check(type="prometheus", url=prometheus_url, query='up{job="self"}[1m]', fail_if="> 1")
    assert outcome.status == "down"
    assert outcome.message == "query returned a matrix; use an expression giving an instant vector or scalar"


def test_a_prometheus_that_is_not_there_is_down(check, closed_port):
    outcome = check(type="prometheus", url=f"http://127.0.0.1:{closed_port}", query="up", fail_if="< 1", timeout=3)
    assert outcome.status == "down" and "Connect" in outcome.message
