"""Across domains: an Alertmanager alert opens an incident whose route runs the runbook's diagnostics
unattended, with the alert's labels filling the placeholders when they pass the param's pattern or the default."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.alerts.conftest import am_alert, am_payload
from warroom.alerts import integrations
from warroom.config import parse_config_text
from warroom.engine.worker import Engine
from warroom.incidents import timeline

RUNBOOK = """---
id: checkout-down
services: [checkout]
---
# Checkout down

## Diagnosis

```bash {auto}
# Which service is failing, as the alert says
printf 'service=%s\\n' <service>
```

## Resolution

```bash
docker compose restart <service>
```
"""


@pytest.fixture
def config(tmp_path: Path):
    folder = tmp_path / "runbooks"
    folder.mkdir()
    (folder / "checkout-down.md").write_text(RUNBOOK)
    return parse_config_text(
        f"""
runbooks:
  folders: [{folder}]
routes:
  - name: checkout
    match: ['service=~"checkout.*"']
    group_by: [service]
    runbook: checkout-down
    auto_runbook: true
"""
    )


def test_an_alert_runs_its_routes_runbook_diagnostics_with_its_labels(runtime, app, api):
    from starlette.testclient import TestClient

    with runtime.db.transaction() as session:
        _, key = integrations.create_integration(
            session, name="am", type="alertmanager", created_by="tests", now=runtime.clock.now()
        )
    sender = TestClient(app, raise_server_exceptions=False)
    hostile = "checkout; touch pwned"
    response = sender.post(f"/api/v1/intake/{key}", json=am_payload(am_alert("CheckoutDown", service=hostile)))
    assert response.status_code == 200, response.text
    plain = sender.post(f"/api/v1/intake/{key}", json=am_payload(am_alert("CheckoutDown", service="checkout-eu")))
    assert plain.status_code == 200, plain.text
    Engine(runtime).run_due()
    with runtime.db.session() as session:
        refused, filled = timeline.events(session, 1), timeline.events(session, 2)
    # The hostile label matches no pattern (the runbook declares none: the default applies): the run starts
    # with <service> unfilled, the reason on the timeline, and nothing runs.
    started = next(e for e in refused if e.kind == "runbook_started")
    assert "<service> left unfilled" in started.message and "service" in started.data["refused"]
    assert [e for e in refused if e.kind == "runbook_step_ran"] == []
    ran = [e for e in filled if e.kind == "runbook_step_ran"]
    assert len(ran) == 1  # only the unattended diagnostic; the restart waits for a person
    assert ran[0].data["command"] == "printf 'service=%s\\n' checkout-eu"
    assert "service=checkout-eu" in ran[0].data["output"]
    assert not Path("pwned").exists()
