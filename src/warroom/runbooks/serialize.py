"""Runbooks as plain JSON-friendly dicts, for `runbook show --json` and the API."""

from __future__ import annotations

from typing import Any

from warroom.runbooks.model import Runbook, Section, Step


def section_to_dict(section: Section) -> dict[str, Any]:
    """One section: title, heading path, level, line, role."""
    return {
        "index": section.index,
        "title": section.title,
        "heading": section.heading,
        "path": list(section.path),
        "path_str": section.path_str,
        "level": section.level,
        "line": section.line,
        "role": section.role.value if section.role else None,
        "pseudo": section.pseudo,
    }


def step_to_dict(step: Step) -> dict[str, Any]:
    """One step with everything a person or the API needs to show and run it."""
    return {
        "index": step.index,
        "id": step.id,
        "kind": step.kind.value,
        "section": step.section_path,
        "role": step.role.value if step.role else None,
        "line": step.line,
        "command": step.command,
        "text": step.text,
        "description": step.description,
        "label": step.label,
        "language": step.language,
        "expected_output": step.expected_output,
        "placeholders": list(step.placeholders),
        "dangerous": step.dangerous,
        "danger_reasons": list(step.danger_reasons),
        "unsafe": step.unsafe,
        "options": step.options.as_dict(),
        "checked": step.checked,
    }


def runbook_to_dict(runbook: Runbook) -> dict[str, Any]:
    """The whole runbook: front matter, sections, steps and problems."""
    front = runbook.front
    return {
        "id": runbook.id,
        "title": runbook.title,
        "path": str(runbook.path) if runbook.path else None,
        "front_matter": {
            "present": front.present,
            "services": front.services,
            "match": front.match,
            "severity": front.severity,
            "owner": front.owner,
            "last_reviewed": front.last_reviewed.isoformat() if front.last_reviewed else None,
            "review_every_days": front.review_every.total_seconds() / 86400 if front.review_every else None,
            "params": [
                {"name": p.name, "description": p.description, "default": p.default, "pattern": p.pattern}
                for p in front.params
            ],
            "required_sections": front.required_sections,
        },
        "sections": [section_to_dict(s) for s in runbook.sections],
        "steps": [step_to_dict(s) for s in runbook.steps],
        "problems": [
            {"line": p.line, "level": p.level.value, "code": p.code, "message": p.message} for p in runbook.problems
        ],
    }
