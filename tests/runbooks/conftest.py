"""Shared fixtures for the runbook engine tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from warroom.runbooks.model import Runbook
from warroom.runbooks.parser import parse, parse_file

# The five seed runbooks (from ../shared/seeds), copied here so that a clone alone runs the suite.
SEEDS = Path(__file__).resolve().parent / "seeds"


def seed_path(prefix: str) -> Path:
    """The seed file whose name starts with `prefix` (e.g. "003")."""
    matches = sorted(SEEDS.glob(f"{prefix}_*"))
    assert matches, f"no seed {prefix} in {SEEDS}"
    return matches[0]


@pytest.fixture
def seeds_dir() -> Path:
    """The folder holding the seed runbooks."""
    return SEEDS


@pytest.fixture
def seed() -> Callable[[str], Runbook]:
    """Parse a seed by its number."""
    return lambda prefix: parse_file(seed_path(prefix))


@pytest.fixture
def md() -> Callable[..., Runbook]:
    """Parse Markdown text written in a test (dedented)."""
    import textwrap

    def make(text: str, name: str = "test.md") -> Runbook:
        return parse(textwrap.dedent(text).lstrip("\n"), name)

    return make


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, str], Path]:
    """Write a runbook file under tmp_path and return its path."""
    import textwrap

    def make(name: str, text: str) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return make
