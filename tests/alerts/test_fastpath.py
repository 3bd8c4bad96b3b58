"""The intake's short way past FastAPI's router behaves like the routes it bypasses."""

from __future__ import annotations

import pytest

from warroom.alerts import api as alerts_api

from .conftest import am_alert, am_payload


def requests_counted(runtime, route: str, status: str) -> float:
    value = runtime.registry.get_sample_value(
        "warroom_http_requests_total", {"method": "POST", "route": route, "status": status}
    )
    return value or 0.0


def test_request_metrics_name_the_route_template_never_the_key(sender, make_integration, runtime):
    key = make_integration()
    assert sender.post(f"/api/v1/intake/{key}", json=am_payload(am_alert())).status_code == 200
    assert sender.post("/api/v1/intake", json=am_payload(am_alert()), headers={"Authorization": f"Bearer {key}"})
    assert sender.post("/api/v1/intake/wr_nope_nope", json=am_payload(am_alert())).status_code == 401
    assert requests_counted(runtime, "/api/v1/intake/{key}", "200") == 1
    assert requests_counted(runtime, "/api/v1/intake/{key}", "401") == 1
    assert requests_counted(runtime, "/api/v1/intake", "200") == 1
    text = sender.get("/metrics").text
    assert key not in text and "wr_nope_nope" not in text


def test_an_unexpected_error_is_a_500_problem_without_the_key(sender, make_integration, monkeypatch):
    key = make_integration()

    def broken(_runtime, _ref, _alerts):
        raise RuntimeError("boom")

    monkeypatch.setattr(alerts_api, "_ingest", broken)
    response = sender.post(f"/api/v1/intake/{key}", json=am_payload(am_alert()))
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["title"] == "Internal error"
    assert key not in response.text


@pytest.mark.parametrize("path", ["/api/v1/intake/a/b", "/api/v1/intakes", "/v2/enqueue/x"])
def test_other_paths_are_left_to_fastapi(sender, path):
    assert sender.post(path, json={}).status_code == 404


def test_other_methods_are_left_to_fastapi(sender, make_integration):
    key = make_integration()
    assert sender.get(f"/api/v1/intake/{key}").status_code == 405
    assert sender.get("/v2/enqueue").status_code == 405
