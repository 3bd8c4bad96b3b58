"""Incidents: severities and their targets, lifecycle, timeline, durations."""
