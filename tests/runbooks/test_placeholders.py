"""Placeholders: which text is one, where values come from, and that a value can only ever be one word."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from warroom.errors import InvalidInput
from warroom.runbooks.blocktext import find_placeholders
from warroom.runbooks.model import Param, PlaceholderRef, Runbook
from warroom.runbooks.placeholders import Value, check_value, fill_command, parse_assignments, resolve

Md = Callable[..., Runbook]


def names(text: str, declared: tuple[str, ...] = ()) -> list[str]:
    return [ref.name for ref in find_placeholders(text, declared)]


def fill(command: str, **values: str) -> str:
    result = fill_command(command, find_placeholders(command, values.keys()), values)
    assert result.ready, result
    assert result.command is not None
    return result.command


def bash(command: str) -> str:
    out = subprocess.run(["bash", "-o", "pipefail", "-c", command], capture_output=True, timeout=10, check=True)
    return out.stdout.decode("utf-8", errors="surrogateescape")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("docker compose restart <service>", ["service"]),
        ("docker exec <postgres_container> pg_isready", ["postgres_container"]),
        ("docker-compose restart <service-name>", ["service_name"]),
        ("kubectl scale deployment/<service> --replicas=3", ["service"]),
        ("echo {{ service }} {{host}}", ["service", "host"]),
        ("cat <<EOF\nx\nEOF", []),
        ("cat <<eof\nx\neof", []),
        ("echo <div> <br> <b>", []),
        ("echo <Service>", []),
        ("docker ps --format '{{.Names}}'", []),
        ("echo '{{ $labels.instance }}'", []),
        ("echo $SERVICE ${SERVICE} $1 ${1}", []),
        ("List<int> x", []),
    ],
)
def test_what_is_a_placeholder(text: str, expected: list[str]) -> None:
    assert names(text) == expected


def test_dollar_brace_only_when_declared_in_params(md: Md) -> None:
    assert names("restart ${SERVICE} ${HOME}", ("SERVICE",)) == ["SERVICE"]
    rb = md("""
        ---
        params:
          - name: SERVICE
            default: web
        ---
        ```bash
        systemctl status ${SERVICE} $HOME ${HOME}
        ```
    """)
    assert rb.steps[0].placeholders == ("SERVICE",)


def test_value_from_an_alert_label_is_one_word_not_a_second_command() -> None:
    command = fill("docker compose restart <service>", service="x; rm -rf /")
    assert command == "docker compose restart 'x; rm -rf /'"
    assert bash(fill("printf '%s\\n' <service>", service="x; touch /tmp/pwned")) == "x; touch /tmp/pwned\n"


def test_values_inside_single_and_double_quotes_stay_one_word() -> None:
    assert fill("echo 'a <v> b'", v="x y") == "echo 'a ''x y'' b'"
    assert bash(fill("printf '%s\\n' 'a <v> b'", v="it's $(id)")) == "a it's $(id) b\n"
    assert bash(fill("printf '%s\\n' \"Bearer <token>\"", token='x" `id` $HOME')) == 'Bearer x" `id` $HOME\n'
    assert bash(fill("printf '%s\\n' \"$(printf '%s' <v>)\"", v="a b")) == "a b\n"


def test_unsafe_positions_are_refused() -> None:
    for command in ("echo `echo <v>`", "echo ${X:-<v>}", "echo $(( <v> + 1 ))", "bash <<EOF\n<v>\nEOF"):
        result = fill_command(command, find_placeholders(command), {"v": "1"})
        assert not result.ready
        assert result.error is not None and "reads a value again as code" in result.error


@pytest.mark.parametrize("delimiter", ["EOF", "'EOF'"])
def test_a_heredoc_body_takes_only_plain_values(delimiter: str) -> None:
    command = f"cat <<{delimiter}\nservice <v>\nEOF"
    refs = find_placeholders(command)
    assert bash(fill_command(command, refs, {"v": "web-1.eu:8080"}).command or "") == "service web-1.eu:8080\n"
    refused = fill_command(command, refs, {"v": "$(id)"})
    assert refused.command is None and refused.error is not None and "heredoc" in refused.error


def test_unfilled_placeholder_means_the_step_cannot_run() -> None:
    result = fill_command("docker logs <container> <db>", find_placeholders("docker logs <container> <db>"), {})
    assert result.command is None and result.missing == ("container", "db") and not result.ready


@pytest.mark.parametrize("bad", ["a\nb", "a\rb", "a\x00b"])
def test_newline_and_nul_are_refused(bad: str) -> None:
    with pytest.raises(InvalidInput, match="one line"):
        check_value("service", bad)
    refs = [PlaceholderRef("service", "<service>", 5, 14)]
    assert fill_command("echo <service>", refs, {"service": bad}).error is not None


def test_pattern_is_enforced_whole_value() -> None:
    param = Param("service", pattern=r"[a-z][a-z0-9-]*")
    check_value("service", "checkout-api", param)
    with pytest.raises(InvalidInput, match="does not match its pattern"):
        check_value("service", "checkout; reboot", param)
    with pytest.raises(InvalidInput):
        resolve(["service"], alert={"service": "Bad Value"}, params=[param])


def test_fill_order_given_alert_incident_default() -> None:
    params = [Param("service", default="web"), Param("region", default="eu"), Param("db", default="main")]
    values = resolve(
        ["service", "region", "db", "host", "missing"],
        given={"service": "checkout"},
        alert=[{"service": "from-label", "region": "us"}, {"host": "from-annotation"}],
        incident={"region": "from-incident", "db": "pg"},
        params=params,
    )
    assert values == {
        "service": Value("checkout", "given"),
        "region": Value("us", "alert"),
        "db": Value("pg", "incident"),
        "host": Value("from-annotation", "alert"),
    }
    assert resolve(["service"], params=params) == {"service": Value("web", "default")}
    assert resolve(["service_name"], alert={"service-name": "a"}) == {"service_name": Value("a", "alert")}


def test_param_assignments() -> None:
    assert parse_assignments(["service=a=b", "service-name=x"]) == {"service": "a=b", "service_name": "x"}
    with pytest.raises(InvalidInput, match="NAME=VALUE"):
        parse_assignments(["service"])


# Arbitrary text without NUL or line breaks; everything else, including quotes, $, `, ;, |, >, spaces.
# (A leading `-` is refused before quoting matters: an option is still an option when quoted.)
values = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\n\r"), max_size=40
).filter(lambda v: not v.startswith("-"))
slow = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@slow
@given(value=values)
def test_property_unquoted_value_is_exactly_one_argument(value: str) -> None:
    assert bash(fill("printf '%s\\n' <value>", value=value)) == value + "\n"


@slow
@given(value=values)
def test_property_value_inside_double_quotes_stays_literal(value: str) -> None:
    assert bash(fill("printf '%s\\n' \"[{{ value }}]\"", value=value)) == f"[{value}]\n"


@slow
@given(value=values)
def test_property_value_inside_single_quotes_stays_literal(value: str) -> None:
    assert bash(fill("printf '%s|%s\\n' 'a <value> b' end", value=value)) == f"a {value} b|end\n"


@slow
@given(value=values)
def test_property_no_value_adds_a_command_redirect_or_substitution(
    value: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # After `set --` the argument count shows whether the value split into words, and an empty
    # folder shows that nothing was redirected into a file or run by a substitution.
    work = tmp_path_factory.mktemp("canary")
    script = fill("set -- <value>; printf '%s\\n' \"$#\"; ls -A", value=value)
    out = subprocess.run(["bash", "-o", "pipefail", "-c", script], cwd=work, capture_output=True, timeout=10)
    assert out.returncode == 0, out.stderr
    assert out.stdout == b"1\n"
