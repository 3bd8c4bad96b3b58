"""Values never become code (issue 12 §1): every attack of the issue, sent as a real alert to a real intake key,
against a runbook the route starts automatically; then the same by hand, in `lint`, `show` and the terminal."""

from __future__ import annotations

import socket
import subprocess
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from warroom.alerts import integrations
from warroom.auth.actor import Actor, Role
from warroom.config import ConfigFile
from warroom.engine.worker import Engine
from warroom.errors import Forbidden
from warroom.incidents import timeline
from warroom.runbooks import service
from warroom.runbooks.cli import app as runbook_cli
from warroom.runbooks.parser import parse
from warroom.runbooks.plan import plan

# -- the attacks of the issue, each a named case ----------------------------------------------------------
# (placeholder, the step as a runbook author wrote it, the label an alert sender chose). `{m}` is the marker
# file: if it exists after the run, a value became code. `{repo}` a git repository, `{port}` a closed port.
ATTACKS = {
    "arithmetic-double-paren": ("errors", "(( <errors> > 100 )) && echo many", "$(touch {m})"),
    "arithmetic-dbracket-eq": ("v", "[[ <v> -eq 0 ]] && echo zero", "a[$(touch {m})]"),
    "let": ("v", "let x=<v>; echo $x", "a[$(touch {m})]"),
    "declare-i": ("v", "declare -i n=<v>; echo $n", "a[$(touch {m})]"),
    "array-subscript": ("v", "arr[<v>]=1; echo set", "a[$(touch {m})]"),
    "bash-c": ("v", 'bash -c "echo <v>"', "$(touch {m})"),
    "sh-c-single-quotes": ("v", "sh -c 'echo <v>'", "$(touch {m})"),
    "eval": ("v", "eval echo <v>", "$(touch {m})"),
    "xargs-sh-c": ("v", "echo go | xargs sh -c 'echo <v>'", "$(touch {m})"),
    "ssh-option-as-host": (
        "host",
        "ssh -F /dev/null -o BatchMode=yes -o Hostname=127.0.0.1 -p {port} <host> uptime",
        "-oProxyCommand=touch {m}",
    ),
    "git-option-as-ref": ("ref", "git -C {repo} log -1 <ref>", "--output={m}"),
}
# The two attacks that quoting would stop if values could not start with `-`: plain word positions.
PLAIN_POSITION = {"ssh-option-as-host", "git-option-as-ref"}

SENDER_ROUTE = {"name": "boom", "match": ['alertname="Boom"'], "runbook": "attack", "auto_runbook": True}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    author = ["-c", "user.email=t@example.org", "-c", "user.name=t"]
    subprocess.run(["git", "-C", str(path), *author, "commit", "-q", "--allow-empty", "-m", "first"], check=True)
    return path


@pytest.fixture
def runbook_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "runbooks"
    folder.mkdir()
    return folder


@pytest.fixture
def config(runbook_dir: Path) -> ConfigFile:
    return ConfigFile.model_validate({"runbooks": {"folders": [str(runbook_dir)]}, "routes": [SENDER_ROUTE]})


@pytest.fixture
def engine(runtime: Any) -> Engine:
    return Engine(runtime)


@pytest.fixture
def sender(app: Any) -> Iterator[TestClient]:
    """A client with no warroom token: an alert sender has only its integration key."""
    client = TestClient(app, raise_server_exceptions=False)
    yield client
    client.close()


@pytest.fixture
def key(runtime: Any) -> str:
    with runtime.db.transaction() as session:
        _, secret = integrations.create_integration(
            session, name="prod-alertmanager", type="alertmanager", created_by="tests", now=runtime.clock.now()
        )
    return secret


def runbook_text(command: str, *, pattern: str | None = None, name: str = "v", fence: str = "bash {auto}") -> str:
    params = f"params:\n  - {{name: {name}, pattern: '{pattern}'}}\n" if pattern is not None else ""
    return f"---\nid: attack\n{params}---\n# Attack\n\n## Diagnosis\n```{fence}\n{command}\n```\n"


def line_of(text: str, command: str) -> int:
    return text.splitlines().index(command.splitlines()[0]) + 1


def send_alert(sender: TestClient, key: str, fingerprint: str = "f1", **labels: str) -> int:
    alert = {
        "status": "firing",
        "labels": {"alertname": "Boom", **labels},
        "annotations": {},
        "startsAt": "2026-01-05T08:59:30Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "fingerprint": fingerprint,
    }
    payload = {"version": "4", "status": "firing", "receiver": "warroom", "alerts": [alert], "groupLabels": {}}
    answer = sender.post(f"/api/v1/intake/{key}", json=payload)
    assert answer.status_code in (200, 202), answer.text
    return int(answer.json()["alerts"][0]["incident"])


def timeline_of(runtime: Any, number: int, kind: str) -> list[Any]:
    with runtime.db.session() as session:
        return [e for e in timeline.events(session, number) if e.kind == kind]


def attack(name: str, tmp_path: Path, repo: Path) -> tuple[str, str, str, Path]:
    placeholder, command, value = ATTACKS[name]
    marker = tmp_path / "marker"
    fill = {"m": str(marker), "repo": str(repo), "port": str(free_port())}
    return placeholder, command.format(**fill), value.format(**fill), marker


@pytest.mark.parametrize("pattern", [None, ".*"], ids=["no-pattern", "pattern-allows-anything"])
@pytest.mark.parametrize("name", list(ATTACKS))
def test_an_alert_label_never_becomes_code_in_an_automatic_run(
    name, pattern, api, runtime, engine, sender, key, runbook_dir, tmp_path, repo
):
    placeholder, command, value, marker = attack(name, tmp_path, repo)
    text = runbook_text(command, pattern=pattern, name=placeholder)
    (runbook_dir / "attack.md").write_text(text)
    number = send_alert(sender, key, **{placeholder: value})
    engine.run_due()
    assert not marker.exists(), f"{command!r} filled with {value!r} ran the value"
    assert timeline_of(runtime, number, "runbook_step_ran") == []
    if name in PLAIN_POSITION:
        # Started, but the value was refused (a leading `-` is an option), with the reason on the timeline.
        started = timeline_of(runtime, number, "runbook_started")[0]
        assert placeholder in started.data["refused"] and "starts with '-'" in started.message
    else:
        # Lint rejects the runbook (the placeholder sits where bash reads it again): it never starts.
        skipped = timeline_of(runtime, number, "runbook_auto_skipped")[0]
        assert "cannot start" in skipped.message and "reads a value again as code" in skipped.message
        answer = api.post(f"/api/v1/incidents/{number}/runbook-runs", json={"runbook": "attack"})
        assert answer.status_code == 409 and answer.json()["errors"][0]["field"] == "runbook"
        assert f"attack.md:{line_of(text, command)}: placeholder" in answer.json()["detail"], "it says where"


@pytest.mark.parametrize("name", sorted(set(ATTACKS) - PLAIN_POSITION))
def test_lint_and_show_report_a_placeholder_that_quoting_cannot_protect(name, tmp_path, repo):
    placeholder, command, _, _ = attack(name, tmp_path, repo)
    path = tmp_path / "attack.md"
    text = runbook_text(command, pattern="[a-z]+", name=placeholder)
    path.write_text(text)
    linted = CliRunner().invoke(runbook_cli, ["lint", str(path)])
    assert linted.exit_code == 1
    assert f"{path}:{line_of(text, command)}: error: placeholder <{placeholder}> sits in " in linted.stdout
    shown = CliRunner().invoke(runbook_cli, ["show", str(path)])
    assert shown.exit_code == 0 and "UNSAFE:" in shown.stdout
    ran = CliRunner().invoke(runbook_cli, ["run", str(path), "--param", f"{placeholder}=abc"])
    assert ran.exit_code == 1 and "cannot start" in ran.output


def test_a_plain_value_still_fills_and_runs(api, runtime, engine, sender, key, runbook_dir):
    (runbook_dir / "attack.md").write_text(runbook_text("printf '%s\\n' <v>"))
    number = send_alert(sender, key, v="web-1.eu:8080")
    engine.run_due()
    ran = timeline_of(runtime, number, "runbook_step_ran")
    assert [e.data["output"] for e in ran] == ["web-1.eu:8080\n"]


# -- danger is judged on the filled command --------------------------------------------------------------


def test_a_value_that_makes_the_command_dangerous_asks_a_person(api, runtime, engine, sender, key, runbook_dir):
    (runbook_dir / "attack.md").write_text(
        runbook_text("psql -h 127.0.0.1 -c <query>", pattern="[A-Za-z ]+", name="query")
    )
    number = send_alert(sender, key, query="DROP TABLE users")
    engine.run_due()
    assert timeline_of(runtime, number, "runbook_step_ran") == [], "never run unattended"
    run = api.get(f"/api/v1/incidents/{number}/runbook-runs").json()[0]
    step = api.get(f"/api/v1/incidents/{number}/runbook-runs/{run['id']}").json()["steps"][0]
    assert step["state"] == "pending" and step["needs_confirmation"] and "SQL DROP" in step["danger_reasons"]
    url = f"/api/v1/incidents/{number}/runbook-runs/{run['id']}/steps/{step['id']}/run"
    refused = api.post(url, json={})
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "confirm"


def test_a_value_given_later_that_makes_the_command_dangerous_asks_too(api, runtime, runbook_dir, make_incident):
    (runbook_dir / "attack.md").write_text(
        runbook_text("psql -h 127.0.0.1 -c <query>", pattern="[A-Za-z ]+", name="query")
    )
    incident = make_incident()
    run = api.post(f"/api/v1/incidents/{incident.number}/runbook-runs", json={"runbook": "attack"}).json()
    step = run["steps"][0]
    url = f"/api/v1/incidents/{incident.number}/runbook-runs/{run['id']}/steps/{step['id']}/run"
    refused = api.post(url, json={"params": {"query": "DROP TABLE users"}})
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "confirm"


# -- who may start what ----------------------------------------------------------------------------------


def test_an_integration_can_only_start_steps_marked_auto(runtime, make_incident, runbook_dir):
    (runbook_dir / "attack.md").write_text(runbook_text("echo hand only", fence="bash"))
    incident = make_incident()
    integration = Actor(name="prod-alertmanager", role=Role.RESPONDER, kind="integration")
    with runtime.db.transaction() as session:
        from warroom.runbooks.setup import cache_of

        runbook = cache_of(runtime).find("attack")
        run = service.start_run(session, incident, runbook, actor=integration, now=runtime.clock.now())
        step_id = run.steps[0]["id"]
        with pytest.raises(Forbidden, match="only a person"):
            service.request_run(session, run, step_id, actor=integration, now=runtime.clock.now())


CONFIRM_AUTO = """
---
id: attack
---
# Attack

## Diagnosis
```bash {confirm auto}
touch MARKER
```

```bash {auto}
echo unattended
```
"""


def test_a_confirm_auto_step_never_runs_without_a_person(api, runtime, engine, sender, key, runbook_dir, tmp_path):
    # Issue 13: `{confirm auto}` reads as both flags; confirm wins. A planted mistake let it run unattended.
    marker = tmp_path / "confirmed-only"
    (runbook_dir / "attack.md").write_text(CONFIRM_AUTO.replace("MARKER", str(marker)).lstrip())
    step = parse((runbook_dir / "attack.md").read_text()).steps[0]
    assert step.options.confirm and step.options.auto
    planned = plan([step], {})[0]
    assert planned.needs_confirmation and not planned.may_run_unattended
    number = send_alert(sender, key)
    engine.run_due()
    ran = timeline_of(runtime, number, "runbook_step_ran")
    assert [e.data["command"] for e in ran] == ["echo unattended"], "only the plain auto step ran"
    assert not marker.exists()
    run = api.get(f"/api/v1/incidents/{number}/runbook-runs").json()[0]
    steps = api.get(f"/api/v1/incidents/{number}/runbook-runs/{run['id']}").json()["steps"]
    assert steps[0]["state"] == "pending" and steps[0]["needs_confirmation"] is True


def test_a_queued_step_that_needs_confirmation_is_stopped_at_the_engine(
    api, runtime, engine, make_incident, runbook_dir
):
    # The engine's own gate: even a step queued around the service's checks never runs unconfirmed.
    marker = runbook_dir / "never"
    (runbook_dir / "attack.md").write_text(CONFIRM_AUTO.replace("MARKER", str(marker)).lstrip())
    incident = make_incident()
    run = api.post(f"/api/v1/incidents/{incident.number}/runbook-runs", json={"runbook": "attack"}).json()
    with runtime.db.transaction() as session:
        stored = service.get_run(session, incident.number, run["id"])
        stored.steps = [{**d, "may_run_unattended": True} for d in stored.steps]  # as a planted mistake would
        service.queue_unattended(session, stored, now=runtime.clock.now())
    engine.run_due()
    assert not marker.exists()
    ran = {e.data["command"]: e.data for e in timeline_of(runtime, incident.number, "runbook_step_ran")}
    assert "needs a person" in ran[f"touch {marker}"]["note"] and ran["echo unattended"]["ok"]


# -- issue 12 §3: only the first alert fills placeholders ------------------------------------------------


def test_labels_of_alerts_attached_later_never_fill_placeholders(api, runtime, engine, sender, key, runbook_dir):
    (runbook_dir / "attack.md").write_text(runbook_text("printf '%s\\n' <pod>", pattern="[a-z0-9-]+", name="pod"))
    number = send_alert(sender, key, fingerprint="first")
    later = send_alert(sender, key, fingerprint="second", pod="attacker-pod")
    assert later == number, "the second alert joined the incident"
    engine.run_due()
    assert timeline_of(runtime, number, "runbook_step_ran") == []
    run = api.post(f"/api/v1/incidents/{number}/runbook-runs", json={"runbook": "attack"}).json()
    assert run["steps"][0]["command"] is None and run["steps"][0]["missing"] == ["pod"]


# -- issue 14: a runbook lint rejects does not start ----------------------------------------------------

UNCLOSED = """
---
id: attack
---
# Attack

## Diagnosis
```bash
echo first

Then restart the service if the output shows errors.
touch MARKER
"""


def test_an_unclosed_fence_stops_the_runbook_on_the_server(api, make_incident, runbook_dir, tmp_path):
    marker = tmp_path / "prose-ran"
    (runbook_dir / "attack.md").write_text(UNCLOSED.replace("MARKER", str(marker)).lstrip())
    incident = make_incident()
    answer = api.post(f"/api/v1/incidents/{incident.number}/runbook-runs", json={"runbook": "attack"})
    assert answer.status_code == 409
    assert "attack.md:7: code fence opened at line 7 is never closed" in answer.json()["detail"]
    assert not marker.exists()


def test_an_unclosed_fence_stops_the_runbook_in_the_terminal(tmp_path, monkeypatch):
    from warroom.runbooks import cli

    marker = tmp_path / "prose-ran"
    path = tmp_path / "attack.md"
    path.write_text(UNCLOSED.replace("MARKER", str(marker)).lstrip())
    monkeypatch.setattr(cli, "ASK", lambda question, choices: "yes" if choices is None else "run")
    result = CliRunner().invoke(runbook_cli, ["run", str(path)])
    assert result.exit_code == 1
    assert "cannot start" in result.output and "attack.md:7" in result.output and "never closed" in result.output
    assert not marker.exists()


def test_lint_warns_on_cd_alone_endless_commands_and_undeclared_placeholders(tmp_path):
    path = tmp_path / "warn.md"
    path.write_text(
        textwrap.dedent("""
        ---
        id: warn
        params: [{name: service, default: api}]
        ---
        # Warn

        ## Diagnosis
        ```bash
        cd /srv/app
        top
        tail -f /var/log/syslog
        timeout 10 tail -f /var/log/syslog
        top -b -n 1
        echo <service> <pod>
        ```
        """).lstrip()
    )
    result = CliRunner().invoke(runbook_cli, ["lint", str(path)])
    assert result.exit_code == 0, "warnings only"
    lines = result.stdout.splitlines()
    assert f"{path}:9: warning: `cd` alone changes nothing" in lines[0]
    assert f"{path}:10: warning: top runs until it is stopped" in lines[1]
    assert f"{path}:11: warning: tail -f runs until it is stopped" in lines[2]
    assert f"{path}:14: warning: placeholder <pod> is not declared in params" in lines[3]
    assert len(lines) == 4, "timeout N and top -b -n 1 end by themselves; <service> is declared"


# -- property: no hostile value becomes code, in any context --------------------------------------------
# Each context is a step as an author could write it; `<v>` is filled through the real path (resolve with the
# param's pattern, or the default; then fill) and whatever comes out really runs under `bash -o pipefail -c`.

UNSAFE_CONTEXTS = {
    "arithmetic": "(( <v> > 100 )) && echo many",
    "dbracket-eq": "[[ <v> -eq 0 ]] && echo zero",
    "let": "let x=<v>",
    "declare-i": "declare -i n=<v>",
    "array-subscript": "arr[<v>]=1",
    "bash-c": 'bash -c "echo <v>"',
    "sh-c": "sh -c 'echo <v>'",
    "eval": "eval echo <v>",
    "xargs-sh-c": "echo go | xargs sh -c 'echo <v>'",
    "source": "source <v>",
    "variable-then-arithmetic": "n=<v>; (( n > 100 )) && echo many",
    "declare-i-then-assign": "declare -i n; n=<v>",
    "bash-c-script-doing-arithmetic": "bash -c '(( $1 > 100 )) && echo many' _ <v>",
    "unset-name": "unset <v>",
    "printf-v-name": "printf -v <v> %s 1",
    "command-name": "<v> --version",
}
SAFE_CONTEXTS = {
    "plain-word": "printf '%s\\n' <v>",
    "bash-c-positional": 'bash -c \'printf "%s\\n" "$1"\' _ <v>',
    "double-quotes": "printf '%s\\n' \"[<v>]\"",
    "case": "case <v> in\n  ok) echo ok;;\n  *) echo other;;\nesac",
    "for": "for w in <v>; do printf '%s\\n' \"$w\"; done",
    "heredoc": "cat <<EOF\n<v>\nEOF",
    "pipeline": "printf '%s\\n' <v> | cat | wc -l",
    "ssh-host": "ssh -F /dev/null -o BatchMode=yes -o Hostname=127.0.0.1 -o ConnectTimeout=2 -p {port} <v> true",
    "git-ref": "git -C {repo} log -1 --format=%s <v> --",
}
HOSTILE = [
    "$(touch {m})",
    "`touch {m}`",
    "x; touch {m}",
    "x\ntouch {m}",
    "x' ; touch {m}; '",
    'x" ; touch {m}; "',
    "-oProxyCommand=touch {m}",
    "--output={m}",
    "a[$(touch {m})]",
    "x[`touch {m}`]",
    "$'\\x24(touch {m})'",
    "ü$(touch {m})é",
    "x && touch {m} #",
    "{m}",
]


def _hostile_values(marker: str) -> Any:
    from hypothesis import strategies as st

    noise = st.text(alphabet="ab1 ü'\";|&$`-[](){}<>\\*\t", max_size=4)
    prefix = st.one_of(st.just(""), noise)  # often none: `-o...` must come first to be an option
    return st.builds(
        lambda pre, body, post: pre + body.format(m=marker) + post, prefix, st.sampled_from(HOSTILE), noise
    )


@pytest.fixture(scope="module")
def playground(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("hostile")
    repo = root / "repo"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    author = ["-c", "user.email=t@example.org", "-c", "user.name=t"]
    subprocess.run(["git", "-C", str(repo), *author, "commit", "-q", "--allow-empty", "-m", "first"], check=True)
    return {"root": str(root), "repo": str(repo), "port": str(free_port())}


@pytest.mark.parametrize("pattern", [None, ".*"], ids=["no-pattern", "pattern-allows-anything"])
@pytest.mark.parametrize("context", [*UNSAFE_CONTEXTS, *SAFE_CONTEXTS])
def test_property_no_hostile_value_runs_in_any_context(context: str, pattern: str | None, playground) -> None:
    from hypothesis import HealthCheck, example, given, settings

    from warroom.errors import InvalidInput
    from warroom.runbooks.model import Param
    from warroom.runbooks.placeholders import fill_step, resolve

    template = {**UNSAFE_CONTEXTS, **SAFE_CONTEXTS}[context].format(**playground)
    step = parse(f"# X\n```bash\n{template}\n```\n").steps[0]
    assert step.command is not None and step.placeholders == ("v",), step
    marker = Path(playground["root"]) / f"marker-{context}"
    params = [Param("v", pattern=pattern)] if pattern is not None else []
    ran = 0

    # Bounded and derandomized: the same examples on every run, about a second per context.
    @settings(max_examples=20, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
    @given(value=_hostile_values(str(marker)))
    def check(value: str) -> None:
        nonlocal ran
        try:
            values = {k: v.value for k, v in resolve(["v"], alert={"v": value}, params=params).items()}
        except InvalidInput:
            return  # refused: the step does not run
        fill = fill_step(step, values)
        if fill.command is None:
            return
        ran += 1
        subprocess.run(
            ["bash", "-o", "pipefail", "-c", fill.command],
            cwd=playground["root"],
            capture_output=True,
            timeout=20,
            env={"PATH": "/usr/bin:/bin", "HOME": playground["root"]},
        )
        assert not marker.exists(), f"{template!r} with {value!r} ran: {fill.command!r}"

    for body in HOSTILE:  # each attack bare as well, whatever the random part draws
        check = example(value=body.format(m=marker))(check)
    check()
    if context in UNSAFE_CONTEXTS:
        assert ran == 0, "nothing is ever filled where bash reads a value again"
    elif context != "heredoc":
        assert ran > 0, "a pattern that allows it: the quoting, not a refusal, kept the value a word"


def test_the_terminal_asks_to_confirm_when_a_value_makes_the_command_dangerous(tmp_path, monkeypatch):
    from warroom.runbooks import cli

    path = tmp_path / "attack.md"
    path.write_text(runbook_text("printf '%s\\n' <query>", pattern="[A-Za-z ]+", name="query", fence="bash"))
    questions: list[str] = []

    def ask(question: str, choices: Any) -> str:
        questions.append(question)
        return "run" if choices else "no"

    monkeypatch.setattr(cli, "ASK", ask)
    result = CliRunner().invoke(runbook_cli, ["run", str(path), "--param", "query=DROP TABLE users"])
    assert "DANGEROUS: SQL DROP" in result.output
    assert questions == ["Run it?", "This step needs confirmation: type yes to run it"]
    assert "not confirmed" in result.output and "\nDROP TABLE users\n" not in result.output
