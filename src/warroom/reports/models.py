"""The indexes the reports add to other domains' tables (the reports domain has no table of its own)."""

from __future__ import annotations

from sqlalchemy import Index

from warroom.incidents.models import Incident, TimelineEvent
from warroom.notify.models import Notification

# Flapping reads the alert_resolved/alert_refired events of a period, and on-call load every `acknowledged`
# with its incident and actor: without this index each is a scan of the whole timeline (1,000,000 events:
# ~0.5 s on SQLite); with it a range of the index, and the acknowledgements are read from the index alone
# (a timeline row carries its message and data: reading 95,000 of them took 0.13 s, the index 0.07 s on
# SQLite; 0.12 s and 0.03 s on PostgreSQL).
TIMELINE_KIND_AT = Index(
    "ix_timeline_events_kind_at_incident_actor_id",
    TimelineEvent.kind,
    TimelineEvent.at,
    TimelineEvent.incident_id,
    TimelineEvent.actor,
    TimelineEvent.id,  # SQLite keeps the row id in every index; PostgreSQL needs it named to skip the rows
)

# On-call load groups the page notifications by (incident, person, generation, cycle, level) and takes the
# first one's time: in this order the grouping walks the index, with no sort and no table row read (0.14 s
# to 0.10 s for 140,000 notifications on SQLite).
NOTIFICATION_PAGES = Index(
    "ix_notify_notifications_pages",
    Notification.kind,
    Notification.incident_id,
    Notification.user_id,
    Notification.generation,
    Notification.cycle,
    Notification.level,
    Notification.created_at,
)

# Every section starts from the period's incidents and their phase times: read from this index alone (an
# incident row carries its title, description and labels), in the period's range of detection times.
INCIDENT_PHASES = Index(
    "ix_incidents_report_phases",
    Incident.detected_at,
    Incident.drill,
    Incident.severity,
    Incident.started_at,
    Incident.acknowledged_at,
    Incident.mitigated_at,
    Incident.resolved_at,
)

# Alert noise leaves out the alerts of drills: the drills are found from this index, not by reading every
# incident's entry in the one above (0.035 s of 0.135 s for the period's alerts on SQLite).
INCIDENT_DRILLS = Index("ix_incidents_drill_id", Incident.drill, Incident.id)
