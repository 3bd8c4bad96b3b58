"""Alert intake: integrations and their formats, dedup, routing, silences, maintenance, inhibition, grouping."""
