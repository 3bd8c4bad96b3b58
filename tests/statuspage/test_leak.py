"""The leak test: an incident full of internal detail, published and updated, shows none of it publicly."""

from __future__ import annotations

import dataclasses
from typing import Any

from warroom.auth.actor import Actor, Role
from warroom.incidents import timeline
from warroom.incidents.models import Incident
from warroom.statuspage import service as statuspage

# Words that exist only in the internal incident: none may appear in anything public.
INTERNAL = {
    "title": "Primary PGBOUNCER-QUOKKA pool exhausted",
    "description": "Replica lag on db-internal-7.corp.example",
    "impact": "Tenant ZEBRACORP cannot pay",
    "commander": "carol-commander-marmot",
    "note": "Bob thinks it is the VACUUM-NARWHAL job again",
    "alert_label": "alertlabel-okapi-9931",
    "alert_summary": "PoolSaturated on pgbouncer-axolotl",
    "runbook_output": "psql: FATAL too many connections for role svc_IBEX",
    "person": "Dorothea Publisherperson",
}


def _public_text(value: Any) -> str:
    """Every string inside a snapshot object (recursively), joined."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return " ".join(_public_text(getattr(value, f.name)) for f in dataclasses.fields(value))
    if isinstance(value, (list, tuple)):
        return " ".join(_public_text(v) for v in value)
    if isinstance(value, dict):
        return " ".join(_public_text(k) + " " + _public_text(v) for k, v in value.items())
    return str(value)


def test_nothing_internal_reaches_the_snapshot_history_or_public_incident(runtime, client_for, clock, snapshot):
    person = client_for("responder", INTERNAL["person"])
    admin = client_for("admin", "admin-ops")
    created = admin.post(
        "/api/v1/integrations", json={"name": "am", "type": "alertmanager", "service": "checkout", "severity": "P1"}
    )
    assert created.status_code == 201, created.text
    sent = admin.post(
        "/api/v1/integrations/am/alerts",
        json={
            "labels": {"alertname": INTERNAL["alert_summary"], "pool": INTERNAL["alert_label"], "service": "checkout"},
            "annotations": {"summary": INTERNAL["alert_summary"], "runbook": INTERNAL["runbook_output"]},
        },
    )
    assert sent.status_code in (200, 201, 202), sent.text
    number = person.get("/api/v1/incidents").json()["items"][0]["number"]
    changed = person.patch(
        f"/api/v1/incidents/{number}",
        json={
            "title": INTERNAL["title"],
            "description": INTERNAL["description"],
            "impact": INTERNAL["impact"],
            "commander": INTERNAL["commander"],
            "labels": {"pool": INTERNAL["alert_label"]},
        },
    )
    assert changed.status_code == 200, changed.text
    assert person.post(f"/api/v1/incidents/{number}/notes", json={"message": INTERNAL["note"]}).status_code == 201
    with runtime.db.transaction() as session:  # what a runbook step's output looks like on the timeline
        incident = session.get(Incident, number)
        timeline.append(
            session,
            incident,
            kind="runbook_step",
            actor=Actor("runbook", Role.RESPONDER, kind="system"),
            at=clock.now(),
            message=INTERNAL["runbook_output"],
        )

    published = person.post(
        f"/api/v1/incidents/{number}/publish", json={"title": "Checkout is slow", "components": ["Checkout"]}
    )
    assert published.status_code == 201, published.text
    clock.advance(minutes=10)
    for status, body in (("identified", "We found the cause and are fixing it."), ("monitoring", None)):
        posted = person.post(
            f"/api/v1/incidents/{number}/public-updates",
            json={"status": status, "body": body, "use_template": body is None},
        )
        assert posted.status_code == 201, posted.text
        # The internal message does carry the internal detail: it goes to the team, never to the page.
        assert INTERNAL["title"] in posted.json()["internal_message"]
        clock.advance(minutes=10)
    resolved = person.post(
        f"/api/v1/incidents/{number}/public-updates", json={"status": "resolved", "body": "All fixed."}
    )
    assert resolved.status_code == 201

    public_id = published.json()["id"]
    with runtime.db.session() as session:
        seen = " ".join(
            [
                _public_text(snapshot()),
                _public_text(statuspage.history(session, page=1, per_page=50, now=clock.now())),
                _public_text(statuspage.public_incident(session, public_id, now=clock.now())),
            ]
        )
    assert "Checkout is slow" in seen and "We found the cause and are fixing it." in seen and "All fixed." in seen
    leaked = {name: text for name, text in INTERNAL.items() if text in seen}
    words = {word for text in INTERNAL.values() for word in text.split() if word.isupper() and len(word) > 5}
    leaked |= {f"the word {word}": word for word in words if word in seen}
    assert leaked == {}
