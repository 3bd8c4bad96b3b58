"""Rendering a post-mortem template: sandboxed Jinja2 over Markdown, with errors that name the line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError
from jinja2.sandbox import SandboxedEnvironment

from warroom.errors import InvalidInput
from warroom.postmortems import default_template


def default_text() -> str:
    """The built-in template (it follows the seeds' post-mortem and incident report templates)."""
    return default_template.TEXT


def _environment() -> SandboxedEnvironment:
    # Sandboxed: a template is a team's file, and a template may only arrange the record, never reach Python.
    # StrictUndefined: a misspelt key is an error naming it, not a silently empty section.
    return SandboxedEnvironment(undefined=StrictUndefined, keep_trailing_newline=True, autoescape=False)


def resolve_path(template: str, base: Path | None) -> Path:
    """The template's file: relative paths are taken from the config file's folder."""
    path = Path(template).expanduser()
    return path if path.is_absolute() or base is None else base / path


def problem(text: str) -> tuple[int | None, str] | None:
    """(line, message) of the first syntax error in a template's text, or None when it parses."""
    try:
        _environment().parse(text)
    except TemplateSyntaxError as exc:
        return exc.lineno, exc.message or "syntax error"
    return None


def render(text: str, context: dict[str, Any], *, name: str = "template") -> str:
    """The template rendered with `context`; InvalidInput naming the line when it cannot be."""
    env = _environment()
    try:
        return env.from_string(text).render(**context)
    except TemplateSyntaxError as exc:
        raise InvalidInput(
            f"Post-mortem template {name}, line {exc.lineno}: {exc.message}.", field="template"
        ) from None
    except TemplateError as exc:
        raise InvalidInput(f"Post-mortem template {name}: {exc}.", field="template") from None


def load(template: str | None, base: Path | None) -> tuple[str, str]:
    """(name, text) of the configured template, or of the built-in one."""
    if not template:
        return "built-in", default_text()
    path = resolve_path(template, base)
    try:
        return str(path), path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise InvalidInput(f"Post-mortem template {path}: cannot read: {reason}.", field="template") from None
