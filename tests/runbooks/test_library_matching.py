"""Loading runbooks from folders, finding them, and ranking them for an incident."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from warroom.errors import NotFound
from warroom.runbooks import library
from warroom.runbooks.matching import IncidentContext, rank, tokens

Write = Callable[[str, str], Path]


@pytest.fixture
def folder(write: Write, tmp_path: Path) -> Path:
    write(
        "disk.md",
        """
        ---
        id: disk-full
        match: ['alertname=DiskFull', 'env=~"stag.*|prod"']
        ---
        # Disk full on a host
        ## Symptoms
        - Writes fail with "No space left on device"
        """,
    )
    write(
        "nested/db/postgres.markdown",
        """
        ---
        id: postgres-connections
        services: [checkout, billing]
        ---
        # PostgreSQL too many connections
        ## Diagnosis
        ```bash
        psql -c "SELECT count(*) FROM pg_stat_activity"
        ```
        """,
    )
    write("nested/redis.md", "# Redis memory high\n## Symptoms\nCache misses, evictions, OOM\n")
    write("notes.txt", "# Not a runbook unless named\n")
    write(".hidden/skip.md", "# hidden\n")
    return tmp_path


def test_load_is_recursive_and_takes_md_and_markdown_only(folder: Path) -> None:
    lib = library.load([folder])
    assert sorted(r.id for r in lib.runbooks) == ["disk-full", "postgres-connections", "redis"]
    explicit = library.load([folder / "notes.txt"])
    assert [r.id for r in explicit.runbooks] == ["notes"]


def test_find_by_id_or_path(folder: Path) -> None:
    lib = library.load([folder])
    assert lib.find("disk-full").title == "Disk full on a host"
    assert lib.find(str(folder / "nested" / "redis.md")).id == "redis"
    with pytest.raises(NotFound, match="no runbook 'nope'"):
        lib.find("nope")
    with pytest.raises(NotFound):
        library.load([folder / "missing"])


def test_resolve_uses_dir_option_and_environment(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert library.resolve("redis", [folder]).id == "redis"
    monkeypatch.setenv(library.ENV_DIRS, f"/nonexistent:{folder}")
    assert library.resolve("disk-full").id == "disk-full"
    assert library.resolve(str(folder / "notes.txt")).id == "notes"


def test_duplicates(write: Write, tmp_path: Path) -> None:
    write("a.md", "---\nid: x\n---\n# A\n")
    write("b/a.md", "# Also a\n")  # id from its file name: "a"
    write("c.md", "---\nid: x\n---\n# C\n")
    dupes = library.load([tmp_path]).duplicates()
    assert sorted(dupes) == ["x"]
    assert len(dupes["x"]) == 2


def test_tokens_split_camel_case() -> None:
    assert tokens("DiskFull on host-1 (PostgreSQL)") == ["disk", "full", "host", "postgre", "sql"]


def test_rank_match_and_services_first_then_hint_then_text(folder: Path) -> None:
    lib = library.load([folder])
    incident = IncidentContext(
        title="Redis memory high on cache-1",
        labels={"alertname": "DiskFull", "env": "staging", "service": "checkout"},
        hint="redis",
    )
    ranked = rank(lib.runbooks, incident)
    assert [m.runbook.id for m in ranked] == ["disk-full", "postgres-connections", "redis"]
    assert ranked[0].reason.startswith('labels match alertname="DiskFull", env=~"stag.*|prod"')
    assert ranked[1].reasons[0] == "for service checkout"
    assert ranked[2].reasons[0] == "the route suggests runbook 'redis'"
    assert ranked[2].reasons[1].startswith("similar text")


def test_rank_by_text_alone_and_anchored_match(folder: Path) -> None:
    lib = library.load([folder])
    ranked = rank(
        lib.runbooks,
        IncidentContext(
            title="Too many connections to PostgreSQL", labels={"alertname": "DiskFull", "env": "prestaging"}
        ),
    )
    assert [m.runbook.id for m in ranked][:1] == ["postgres-connections"]
    assert "disk-full" not in [m.runbook.id for m in ranked if m.score >= 100]  # env regex is anchored
    assert rank(lib.runbooks, IncidentContext(title="zzz")) == []
