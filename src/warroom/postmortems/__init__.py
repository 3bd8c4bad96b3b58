"""Post-mortems drafted from an incident's record, their versions and states, and their action items."""
