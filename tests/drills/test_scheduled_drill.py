"""Scheduled drills (`drills:` in warroom.yaml): the engine starts each at its RRULE's occurrences."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.drills.conftest import drill_config
from warroom.config import ConfigFile, parse_config_text
from warroom.drills import schedule
from warroom.engine import jobs

QUARTERLY = {
    "name": "quarterly-shop",
    "team": "shop-team",
    "schedule": "FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=1;BYHOUR=10;BYMINUTE=0",
    "start": "2026-01-01",
    "timezone": "Europe/Berlin",
    "scenario": {
        "services": ["shop"],
        "alerts": [{"labels": {"alertname": "ShopDown", "service": "shop", "severity": "P2"}}],
        "timeout": "1h",
    },
}


@pytest.fixture
def config(webhook, shop, tmp_path) -> ConfigFile:
    return drill_config(webhook, shop, tmp_path, drills=[QUARTERLY])


def test_a_quarterly_drill_fires_through_the_engine_at_its_time(runtime, api, engine, webhook, clock):
    engine.run_due()
    assert api.get("/api/v1/drills").json() == []
    clock.set(datetime(2026, 4, 1, 7, 59, tzinfo=UTC))  # 09:59 in Berlin (summer time)
    engine.run_due()
    assert api.get("/api/v1/drills").json() == []
    clock.set(datetime(2026, 4, 1, 8, 0, tzinfo=UTC))
    engine.run_due()
    (drill,) = api.get("/api/v1/drills").json()
    assert drill["name"] == "quarterly-shop" and drill["started_by"] == "schedule:quarterly-shop"
    assert api.get(f"/api/v1/incidents/{drill['incident']}").json()["drill"] is True
    (page,) = webhook.wait_for(1)
    assert page.path == "/alice" and page.title.startswith("DRILL: ")
    with runtime.db.session() as session:
        (job,) = jobs.pending(session, schedule.SCHEDULED_JOB)
        assert job.due_at == datetime(2026, 7, 1, 8, 0, tzinfo=UTC)
    engine.run_due()  # the same occurrence does not start a second drill
    assert len(api.get("/api/v1/drills").json()) == 1


@pytest.mark.backend("sqlite")
@pytest.mark.parametrize(
    ("entry", "said"),
    [
        ({**QUARTERLY, "schedule": "FREQ=SOMETIMES"}, "schedule"),
        ({**QUARTERLY, "timezone": "Mars/Olympus"}, "time zone"),
        ({**QUARTERLY, "scenario": {**QUARTERLY["scenario"], "break": {"argv": ["true"]}}}, "no `break` command"),
        ({**QUARTERLY, "scenario": {"alerts": [{"labels": {"service": "shop"}}]}}, "alertname"),
    ],
)
def test_a_bad_scheduled_drill_is_refused_naming_it(entry, said):
    import yaml

    with pytest.raises(Exception) as refused:
        parse_config_text(yaml.safe_dump({"drills": [entry]}))
    assert "drills" in str(refused.value) and said in str(refused.value)
