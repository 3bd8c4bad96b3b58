"""The built-in post-mortem template (Jinja2 in Markdown), following the seeds' post-mortem and incident
report templates; teams replace it with `postmortems.template` in warroom.yaml."""

TEXT = """# Post-Mortem: {{ incident.title }}

## Summary
- **Incident**: #{{ incident.number }}
- **Date**: {{ date }}
- **Severity**: {{ incident.severity }} ({{ incident.severity_description }})
- **Services**: {{ incident.services | join(", ") or "-" }}
- **Commander**: {{ ("@" ~ incident.commander) if incident.commander else "-" }}
- **Responders**: {% for name in responders %}@{{ name }}{{ ", " if not loop.last }}{% else %}-{% endfor %}
- **Duration**: {{ duration }} (started {{ started }}, resolved {{ resolved or "-" }} UTC)

## Impact
- **Users affected**: _to fill_
- **Revenue impact**: _to fill_
- **What users saw**: {{ incident.impact or "_to fill_" }}

## Phases against targets
| phase | took | target | |
| --- | --- | --- | --- |
{% for p in phases -%}
| {{ p.name }} | {{ p.took }} | {{ p.target }} | {{ p.state }} |
{% endfor %}
## Timeline (UTC)
{% for e in timeline -%}
- {{ e.time }} - {{ e.text }} ({{ e.actor }})
{% endfor %}
## Alerts that fired
{% for a in alerts -%}
- {{ a.first }} - {{ a.name }}{{ (" (x" ~ a.count ~ ")") if a.count > 1 }}
{% else -%}
- none (declared by {{ incident.declared_by }})
{% endfor %}
## Paging
{% for p in pages -%}
- {{ p.time }} - level {{ p.level }} paged @{{ p.user }};
{{- (" answered at " ~ p.answered ~ " (after " ~ p.answered_after ~ ")") if p.answered else " no answer" }}
{% else -%}
- nobody was paged
{% endfor %}
## Runbook steps run
{% for s in runbook_steps -%}
- {{ s.time }} - {{ s.runbook }} step {{ s.index }}: {{ s.title }} - {{ s.outcome }} ({{ s.actor }})
{% else -%}
- none
{% endfor %}
## Root Cause
_What caused the incident._

### Five whys
1. Why? _to fill_
2. Why? _to fill_
3. Why? _to fill_
4. Why? _to fill_
5. Why? _to fill_

## Resolution
_What was done to resolve the incident._

## Lessons Learned
### What went well
- _to fill_

### What could be improved
- _to fill_

## Action Items
{% for item in action_items -%}
{{ item }}
{% endfor %}
"""
