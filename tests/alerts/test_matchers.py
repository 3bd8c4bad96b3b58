"""Alertmanager matcher semantics: anchoring, negation, missing labels, parsing."""

from __future__ import annotations

import pytest

from warroom.alerts import matchers
from warroom.alerts.matchers import Matcher
from warroom.errors import InvalidInput


def parse(text: str) -> list[Matcher]:
    return matchers.parse_matchers([text])


def one(text: str) -> Matcher:
    parsed = parse(text)
    assert len(parsed) == 1
    return parsed[0]


def test_parse_forms() -> None:
    assert one("alertname=DiskFull") == Matcher.create("alertname", "=", "DiskFull")
    assert one('env=~"stag.*"') == Matcher.create("env", "=~", "stag.*")
    assert one("env != prod") == Matcher.create("env", "!=", "prod")
    assert one('msg="a \\"quoted\\", value"').value == 'a "quoted", value'
    many = parse('{alertname="DiskFull", severity=~"critical|page", team!~"infra.*"}')
    assert [(m.name, m.op, m.value) for m in many] == [
        ("alertname", "=", "DiskFull"),
        ("severity", "=~", "critical|page"),
        ("team", "!~", "infra.*"),
    ]
    assert parse("") == []


def test_regexes_are_fully_anchored() -> None:
    stag = one('env=~"stag.*"')
    assert stag.matches({"env": "staging"})
    assert not stag.matches({"env": "prestaging"})
    assert not one("env=~prod").matches({"env": "production"})
    assert one("env=~prod|stag").matches({"env": "stag"})
    assert not one("env=~prod|stag").matches({"env": "prodx"})


def test_negative_regex_and_missing_label_is_empty_string() -> None:
    assert one('env!~"prod.*"').matches({"env": "staging"})
    assert not one('env!~"prod.*"').matches({"env": "production"})
    assert one('env!="prod"').matches({})
    assert not one('env="prod"').matches({})
    assert one('env=""').matches({})
    assert one('env=~".*"').matches({})
    assert not one('env=~".+"').matches({})
    assert one('env!~".+"').matches({})


def test_all_must_match() -> None:
    parsed = parse('alertname=DiskFull, env=~"stag.*"')
    assert matchers.matches_all(parsed, {"alertname": "DiskFull", "env": "staging"})
    assert not matchers.matches_all(parsed, {"alertname": "DiskFull", "env": "prod"})
    assert matchers.matches_all([], {})


@pytest.mark.parametrize("bad", ['env=~"("', "no operator", "=value", 'a="unterminated'])
def test_bad_matchers_say_why(bad: str) -> None:
    with pytest.raises(InvalidInput):
        parse(bad)


def test_str_round_trips() -> None:
    m = one('msg=~"a\\"b"')
    assert parse(str(m)) == [m]
