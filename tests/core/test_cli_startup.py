"""A client command starts quickly: it imports its own domain's CLI, not the server (SQLAlchemy, the models,
the config's schemas, FastAPI). The figures are in the README; this checks the cause, which timing cannot."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import typer.main

from tests.conftest import free_port
from warroom import cli

# (pydantic comes with Typer itself.)
HEAVY = ("sqlalchemy", "fastapi", "structlog", "warroom.config", "warroom.db", "warroom.server", "alembic")


def test_incident_list_imports_nothing_of_the_server():
    env = dict(os.environ, WARROOM_URL=f"http://127.0.0.1:{free_port()}", WARROOM_TOKEN="x")
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "warroom", "incident", "list"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1 and "cannot reach warroom" in done.stderr
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}
    assert (
        sorted(m for m in imported if m.split(".")[0] in {h.split(".")[0] for h in HEAVY} and m.startswith(HEAVY)) == []
    )


def test_version_flag():
    done = subprocess.run([sys.executable, "-m", "warroom", "--version"], capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout.strip()) == (0, "0.1.0")


# What `warroom NAME` builds when it builds only NAME: that group's sub-commands, in a fresh interpreter (a group
# another domain extends gets its extra commands only if that module is imported for it).
SUBCOMMANDS_OF = """
import json, sys
import typer.main
from warroom import cli
name = sys.argv[1]
command = typer.main.get_command(cli.build(name)).commands[name]
print(json.dumps(sorted(getattr(command, "commands", {}))))
"""


def test_each_first_word_builds_alone_the_same_command_as_the_whole():
    whole = getattr(typer.main.get_command(cli.build()), "commands", {})
    assert cli.buildable_alone() == set(whole)
    running = {
        name: subprocess.Popen([sys.executable, "-c", SUBCOMMANDS_OF, name], stdout=subprocess.PIPE, text=True)
        for name in sorted(whole)
    }
    for name, process in running.items():
        out, _ = process.communicate(timeout=120)
        assert process.returncode == 0, name
        assert json.loads(out) == sorted(getattr(whole[name], "commands", {})), name
