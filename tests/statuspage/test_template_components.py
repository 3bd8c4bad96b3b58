"""A configured public template names the components the published incident affects, in display order."""

from __future__ import annotations

import pytest

from tests.oncall.helpers import Webhook, oncall_config
from tests.statuspage.conftest import STATUS_PAGE
from warroom.config import ConfigFile


@pytest.fixture
def config(webhook: Webhook) -> ConfigFile:
    """The status page of the other tests, with an `identified` text that lists the components."""
    templates = {"identified": {"public": "Identified ({{ components | join(', ') }}): {{ title }}."}}
    return oncall_config(webhook, status_page={**STATUS_PAGE, "templates": templates})


def test_a_templated_update_names_the_published_components(api, make_incident):
    incident = make_incident(severity="P2", services=["checkout"])
    published = api.post(
        f"/api/v1/incidents/{incident.id}/publish",
        json={"title": "Shop errors", "components": ["Search", "Checkout"]},
    )
    assert published.status_code == 201, published.text
    for dry_run in (True, False):
        answer = api.post(
            f"/api/v1/incidents/{incident.id}/public-updates",
            json={"status": "identified", "use_template": True, "dry_run": dry_run},
        )
        assert answer.status_code == (200 if dry_run else 201), answer.text
        assert answer.json()["public_text"] == "Identified (Checkout, Search): Shop errors."
