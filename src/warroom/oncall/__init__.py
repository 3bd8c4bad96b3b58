"""On-call: people, teams, schedules (rotations, layers, overrides, iCal), escalation policies and paging."""
