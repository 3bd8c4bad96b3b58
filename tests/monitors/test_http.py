"""`http` checks against a real local server that can be made slow, failing or to return bad JSON."""

from __future__ import annotations

import time


def test_a_healthy_endpoint_is_up_with_status_and_latency(check, target):
    outcome = check(type="http", url=f"{target.url}/health", expect={"status": [200], "json": {"$.status": "ok"}})
    assert outcome.status == "up"
    assert outcome.message.startswith("200 OK in ")
    assert outcome.details["status_code"] == 200
    assert outcome.latency_ms is not None and outcome.latency_ms < 1000


def test_a_500_is_down_naming_the_status(check, target):
    target.behaviour.status = 500
    outcome = check(type="http", url=f"{target.url}/health")
    assert outcome.status == "down"
    assert outcome.message == "status 500 Internal Server Error, expected 2xx or 3xx"


def test_expected_status_list_is_respected(check, target):
    target.behaviour.status = 204
    target.behaviour.body = ""
    assert check(type="http", url=f"{target.url}/health", expect={"status": [200]}).status == "down"
    assert check(type="http", url=f"{target.url}/health", expect={"status": [200, 204]}).status == "up"


def test_bad_json_is_down_with_the_parse_error(check, target):
    target.behaviour.body = '{"status": "ok"'
    outcome = check(type="http", url=f"{target.url}/health", expect={"json": {"$.status": "ok"}})
    assert outcome.status == "down"
    assert "body is not JSON" in outcome.message


def test_json_path_mismatch_names_the_path_and_both_values(check, target):
    target.behaviour.body = '{"status": "degraded", "checks": [{"name": "db", "ok": false}]}'
    outcome = check(type="http", url=f"{target.url}/health", expect={"json": {"$.status": "ok"}})
    assert outcome.message == '200 OK: $.status is "degraded", expected "ok"'
    outcome = check(type="http", url=f"{target.url}/health", expect={"json": {"$.checks[0].ok": True}})
    assert outcome.message == "200 OK: $.checks[0].ok is false, expected true"
    outcome = check(type="http", url=f"{target.url}/health", expect={"json": {"$.version": "1"}})
    assert outcome.message == '200 OK: $.version is missing, expected "1"'


def test_body_contains_and_regex(check, target):
    target.behaviour.body = "all systems go"
    target.behaviour.content_type = "text/plain"
    url = f"{target.url}/health"
    assert check(type="http", url=url, expect={"contains": "systems go"}).status == "up"
    assert check(type="http", url=url, expect={"contains": "ERROR"}).message == "200 OK: body does not contain 'ERROR'"
    assert check(type="http", url=url, expect={"regex": r"^all \w+ go$"}).status == "up"
    assert check(type="http", url=url, expect={"regex": r"\d+"}).message == r"200 OK: body does not match /\d+/"


def test_slower_than_max_latency_is_down(check, target):
    target.behaviour.delay = 0.3
    outcome = check(type="http", url=f"{target.url}/health", expect={"max_latency": 0.1})
    assert outcome.status == "down"
    assert "slower than 100 ms" in outcome.message
    assert outcome.timing is True
    assert check(type="http", url=f"{target.url}/health", expect={"max_latency": "2s"}).status == "up"


def test_a_hanging_target_is_cut_at_the_timeout(check, target):
    started = time.monotonic()
    outcome = check(type="http", url=f"{target.url}/hang", timeout=0.5, interval=10)
    took = time.monotonic() - started
    assert outcome.status == "down"
    assert outcome.message == "timed out after 0.5s"
    assert 0.4 < took < 3


def test_redirects_are_followed_only_when_asked(check, target):
    url = f"{target.url}/redirect"
    assert check(type="http", url=url, expect={"status": [200]}).message == "status 302 Found, expected 200"
    assert check(type="http", url=url, follow_redirects=True, expect={"status": [200]}).status == "up"


def test_connection_refused_is_down_with_the_reason(check, closed_port):
    outcome = check(type="http", url=f"http://127.0.0.1:{closed_port}/health")
    assert outcome.status == "down"
    assert "Cannot connect" in outcome.message or "refused" in outcome.message.lower()


def test_https_records_the_certificate_days_left(check, target, real_now):
    url = f"{target.tls_url}/health"
    # Self-signed: verification fails unless turned off; then the expiry is still read and recorded.
    assert check(type="http", url=url).status == "down"
    outcome = check(type="http", url=url, verify_tls=False)
    assert outcome.status == "up"
    assert 29 < outcome.details["tls_days_left"] <= 30.1
    real_now.advance(days=10)
    assert 19 < check(type="http", url=url, verify_tls=False).details["tls_days_left"] <= 20.1


def test_post_with_headers_and_body(check, target):
    outcome = check(
        type="http", url=f"{target.url}/health", method="post", headers={"X-Probe": "1"}, body='{"ping": 1}'
    )
    assert outcome.status == "up"
