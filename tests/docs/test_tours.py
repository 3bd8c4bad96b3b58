"""The docs' tours are tests: every shell block a reader is told to run runs, and shown output matches."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.docs.tour import (
    EXAMPLES,
    ROOT,
    VENV_BIN,
    Block,
    Tour,
    TourFailed,
    all_blocks,
    docs,
    foreign_hosts,
    output_matches,
    parse,
)

TOURED = [d for d in docs() if any(b.executed for b in parse(d))]


def _run_tour(doc: Path, workdir: Path) -> Tour:
    tour = Tour(doc=doc, workdir=workdir)
    tour.start_peers()
    tour.lay_out()
    tour.run(parse(doc))
    return tour


@pytest.fixture(scope="module")
def tours(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[Path, Future[Tour]]:
    """The docs' tours, each started once. In one process the selected docs' tours all start at once, three
    side by side (each has its own server and ports): most of a tour's time is waiting on a CLI process or
    the server. Under pytest-xdist a worker starts a tour only when its test asks: every worker collects
    every test, so starting all of them there ran each tour once per worker."""
    pool = ThreadPoolExecutor(max_workers=3)
    request.addfinalizer(lambda: pool.shutdown(wait=True))

    class Started(dict[Path, Future[Tour]]):
        def start(self, doc: Path) -> Future[Tour]:
            self[doc] = pool.submit(_run_tour, doc, tmp_path_factory.mktemp(doc.stem))
            return self[doc]

        __missing__ = start

    started = Started()
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        for item in request.session.items:
            if getattr(item, "originalname", "") == "test_tour_runs" and hasattr(item, "callspec"):
                started.start(item.callspec.params["doc"])
    return started


@pytest.mark.parametrize("doc", TOURED, ids=[d.name for d in TOURED])
def test_tour_runs(doc: Path, tours: dict[Path, Future[Tour]]) -> None:
    """Each doc's shell blocks, in order, against a real `warroom serve` with the shipped examples."""
    tour = tours[doc].result(timeout=600)
    assert tour.ran, f"{doc.name}: no block ran"
    if "json://127.0.0.1:9999/" in doc.read_text():
        # Pages and test messages really left warroom: the loopback receiver the doc names got them.
        assert tour.received, f"{doc.name}: the tour sends notifications, but none reached 127.0.0.1:9999"


def test_the_docs_have_tours() -> None:
    """The README and the four domain docs each have executed blocks and a server to run them against."""
    names = {d.name for d in TOURED}
    assert {"README.md", "alerts.md", "monitors.md", "oncall.md", "runbooks.md"} <= names
    for doc in TOURED:
        servers = [b for b in parse(doc) if b.marker == "server"]
        wanted = 1 if doc.name in {"README.md", "alerts.md", "monitors.md", "oncall.md", "runbooks.md"} else None
        assert len(servers) <= 1, f"{doc.name}: at most one `<!-- tour: server -->` block, found {len(servers)}"
        assert wanted is None or len(servers) == wanted, f"{doc.name}: its tour needs a `<!-- tour: server -->`"


def test_exceptions_are_few_and_say_why() -> None:
    """Blocks kept out of the tours are rare, and each marker gives its reason."""
    skipped = [b for b in all_blocks() if b.marker == "skip"]
    assert len(skipped) <= 6, [b.where for b in skipped]
    for block in skipped:
        assert len(block.reason.split()) >= 3, f"{block.where}: say why this block is not run"


def test_shell_blocks_are_marked_as_tours_or_reference() -> None:
    """Shell snippets are ```sh (run) or ```text (reference): an unlabelled or bash block is a mistake."""
    wrong = [b.where for b in all_blocks() if b.lang in {"bash", "shell", "zsh"}]
    assert wrong == [], f"use ```sh for tours and ```text for reference syntax: {wrong}"
    commands = re.compile(r"^(\$ |warroom |curl |make )", re.MULTILINE)
    unlabelled = [b.where for b in all_blocks() if b.lang == "" and commands.search(b.text)]
    assert unlabelled == [], f"label these command blocks ```sh (a tour) or ```text (reference): {unlabelled}"
    reference = [b.where for b in all_blocks() if b.executed and re.search(r"\[--[a-z]", b.text)]
    assert reference == [], f"reference syntax in an executed block (move it to ```text): {reference}"


def test_executed_blocks_only_name_loopback_hosts() -> None:
    """No tour reaches outside this machine."""
    for block in all_blocks():
        if block.executed:
            assert foreign_hosts(block.text) == [], block.where


def test_harness_refuses_a_block_naming_another_host(tmp_path: Path) -> None:
    """A doc whose tour would reach ntfy.sh fails, naming the doc, the line and the host."""
    doc = tmp_path / "bad.md"
    doc.write_text('# Bad\n\n```sh\nwarroom user contact-add alice "ntfys://ntfy.sh/alice"\n```\n')
    tour = Tour(doc=doc, workdir=tmp_path)
    tour.ports = {8080: 1}
    with pytest.raises(TourFailed, match=r"bad.md:3: .*ntfy.sh"):
        tour.run(parse(doc))


def test_a_failing_block_names_its_line_and_output(tmp_path: Path) -> None:
    """A command that fails reports the doc, the line of the command and what it printed."""
    doc = tmp_path / "broken.md"
    doc.write_text("# Broken\n\n```sh\ntrue\nwarroom incident shw 1\n```\n")
    work = tmp_path / "work"
    work.mkdir()
    tour = Tour(doc=doc, workdir=work)
    tour.ports = {8080: 1}
    with pytest.raises(TourFailed) as failed:
        tour.run(parse(doc))
    message = str(failed.value)
    assert "broken.md:3" in message
    assert "broken.md line 5" in message
    assert "shw" in message


def test_shown_output_is_compared() -> None:
    """`...` elides, the clock's timestamps are any timestamp, and anything else must be as shown."""
    assert output_matches("#1 [P1] Down — triggered\n", "#1 [P1] Down — triggered\n")
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
    assert output_matches("Started: 2026-01-01 10:00:00\n...\nend", f"Started: {now}\nx\ny\nend")
    # A fixed time (a calendar event, an --at) is not the clock's: it must be the one shown.
    assert output_matches("carol since 2026-03-28 09:00:00", "carol since 2026-03-28 09:00:00")
    assert not output_matches("carol since 2026-03-28 09:00:00", "carol since 2026-03-28 10:00:00")
    assert not output_matches("#1 [P1] Down — triggered", "#1 [P2] Down — triggered")


def test_examples_config_passes_config_check() -> None:
    """examples/warroom.yaml, which the docs refer to, is a valid complete config."""
    proc = subprocess.run(
        [str(VENV_BIN / "warroom"), "config", "check", str(EXAMPLES / "warroom.yaml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    text = (EXAMPLES / "warroom.yaml").read_text()
    for section in ("services:", "routes:", "monitors:", "users:", "schedules:", "policies:", "runbooks:"):
        assert f"\n{section}" in text


def test_examples_runbooks_lint_clean() -> None:
    """The runbooks the docs name exist and lint without errors or warnings."""
    assert (EXAMPLES / "runbooks" / "p0-service-down.md").exists()
    proc = subprocess.run(
        [str(VENV_BIN / "warroom"), "runbook", "lint", str(EXAMPLES / "runbooks")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 error(s), 0 warning(s)" in proc.stdout + proc.stderr


def test_readme_make_targets_exist() -> None:
    """The README's two commands name Makefile targets that exist."""
    readme = (ROOT / "README.md").read_text()
    targets = set(re.findall(r"^([a-z][\w-]*):", (ROOT / "Makefile").read_text(), re.MULTILINE))
    named = set(re.findall(r"\bmake ([a-z][\w-]*)", readme))
    assert {"run", "test"} <= named
    assert named - targets == set()


def test_examples_named_by_docs_exist() -> None:
    """Every `examples/...` path a doc names is shipped."""
    for block in all_blocks():
        for path in re.findall(r"examples/[\w./-]+", block.text):
            assert (ROOT / path.rstrip(".")).exists(), f"{block.where}: {path} is not in the repository"


WARROOM_YAML = [b for b in all_blocks() if b.lang == "yaml" and b.text.startswith("# warroom.yaml")]


def _paste(example: dict[str, Any], fragment: dict[str, Any]) -> dict[str, Any]:
    """The fragment pasted into the example: a list of named entries replaces same-named ones and adds the
    rest (`severities` replaces the whole table, as documented); any other section replaces the example's."""
    merged = dict(example)
    for section, value in fragment.items():
        old = example.get(section)
        named = isinstance(value, list) and isinstance(old, list) and section != "severities"
        if named and all(isinstance(e, dict) and ("name" in e or "id" in e) for e in [*value, *old]):
            key = "id" if "id" in value[0] else "name"
            ours = {e[key] for e in value}
            merged[section] = [e for e in old if e.get(key) not in ours] + value
        else:
            merged[section] = value
    return merged


@pytest.mark.parametrize("block", WARROOM_YAML, ids=[b.where for b in WARROOM_YAML])
def test_each_docs_warroom_yaml_passes_config_check(block: Block, tmp_path: Path) -> None:
    """A doc's `# warroom.yaml` example, pasted into examples/warroom.yaml (its sections replacing the
    example's), gives a file `config check` finds no problem in: the names it uses exist."""
    folder = tmp_path / "examples"
    shutil.copytree(EXAMPLES, folder)
    (folder / "calendars").mkdir()
    merged = _paste(yaml.safe_load((EXAMPLES / "warroom.yaml").read_text()), yaml.safe_load(block.text))
    path = folder / "warroom.yaml"
    path.write_text(yaml.safe_dump(merged, sort_keys=False))
    proc = subprocess.run(
        [str(VENV_BIN / "warroom"), "config", "check", str(path)], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, f"{block.where}:\n{proc.stdout}{proc.stderr}\n{path.read_text()}"


def test_the_domain_docs_show_their_warroom_yaml() -> None:
    """README, alerts, monitors, on-call and runbooks each show a checked warroom.yaml example."""
    assert {b.doc.name for b in WARROOM_YAML} >= {"README.md", "alerts.md", "monitors.md", "oncall.md", "runbooks.md"}
