"""The README (and docs/) mention every command and setting a user can reach."""

from __future__ import annotations

from pathlib import Path

import typer
from typer.main import get_command

from warroom.cli import app
from warroom.config import Settings

ROOT = Path(__file__).resolve().parents[2]


def _docs() -> str:
    texts = [(ROOT / "README.md").read_text()]
    texts += [p.read_text() for p in sorted((ROOT / "docs").rglob("*.md"))]
    return "\n".join(texts)


def _command_paths(command: object, prefix: str = "warroom") -> list[str]:
    sub = getattr(command, "commands", None)
    if not sub:
        return [prefix]
    paths: list[str] = []
    for name, child in sub.items():
        paths += _command_paths(child, f"{prefix} {name}")
    return paths


def test_every_command_is_documented():
    docs = _docs()
    commands = _command_paths(get_command(app))
    assert len(commands) > 10
    missing = [c for c in commands if c not in docs]
    assert missing == [], f"document these commands in README.md or docs/: {missing}"


def test_every_setting_is_documented():
    docs = _docs()
    missing = [f"WARROOM_{name.upper()}" for name in Settings.model_fields if f"WARROOM_{name.upper()}" not in docs]
    assert missing == [], f"document these settings in README.md: {missing}"


def test_typer_app_is_the_entry_point():
    assert isinstance(app, typer.Typer)
