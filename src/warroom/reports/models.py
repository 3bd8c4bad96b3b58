"""The indexes the reports add to other domains' tables (the reports domain has no table of its own)."""

from __future__ import annotations

from sqlalchemy import Index

from warroom.incidents.models import TimelineEvent

# Flapping reads the alert_resolved/alert_refired events of a period, and on-call load the first
# `acknowledged` of each incident: without this index each is a scan of the whole timeline (1,000,000
# events: ~0.5 s on SQLite); with it, a range of the index.
TIMELINE_KIND_AT = Index("ix_timeline_events_kind_at", TimelineEvent.kind, TimelineEvent.at)
