"""Label matchers (Alertmanager semantics) and routing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from warroom.alerts.config import RouteConfig
from warroom.alerts.matchers import parse_matcher, parse_matchers
from warroom.alerts.routing import Router
from warroom.errors import InvalidInput

SEVERITIES = ["P0", "P1", "P2", "P3", "P4"]


def test_matcher_forms_and_quotes():
    m = parse_matcher('env=~"stag.*"')
    assert (m.name, m.op, m.value) == ("env", "=~", "stag.*")
    assert parse_matcher("alertname=DiskFull").matches({"alertname": "DiskFull"})
    assert parse_matcher("env != prod").matches({"env": "dev"})
    assert parse_matcher('msg="a \\"quoted\\" word"').value == 'a "quoted" word'
    assert str(parse_matcher("env=~stag.*")) == 'env=~"stag.*"'


def test_regexes_are_fully_anchored():
    m = parse_matcher('env=~"stag"')
    assert not m.matches({"env": "staging"})
    assert parse_matcher('env=~"stag.*"').matches({"env": "staging"})
    assert not parse_matcher('env=~"stag.*"').matches({"env": "prestaging"})
    assert parse_matcher('env!~"prod|live"').matches({"env": "dev"})
    assert not parse_matcher('env!~"prod|live"').matches({"env": "live"})


def test_a_missing_label_equals_the_empty_string():
    assert parse_matcher('team=""').matches({})
    assert parse_matcher("team!=ops").matches({})
    assert parse_matcher('team=~".*"').matches({})
    assert not parse_matcher('team=~".+"').matches({})


def test_several_matchers_in_one_string_and_bad_ones():
    assert len(parse_matchers(['alertname=A,env=~"x,y"'])) == 2
    with pytest.raises(InvalidInput, match="Invalid regular expression"):
        parse_matcher('env=~"("')
    with pytest.raises(InvalidInput, match="expected name=value"):
        parse_matcher("=value")
    with pytest.raises(InvalidInput, match="one of =, !=, =~, !~"):
        parse_matcher("env>3")


def router(*routes: dict) -> Router:
    return Router([RouteConfig.model_validate(r) for r in routes], SEVERITIES)


def test_first_matching_route_wins_and_sets_service_policy_runbook():
    r = router(
        {
            "name": "db",
            "match": ['service=~"db|postgres"'],
            "service": "database",
            "policy": "dba",
            "runbook": "db-failover",
        },
        {"name": "api", "match": ["service=api"], "service": "api", "policy": "web"},
    )
    decision = r.decide({"alertname": "Down", "service": "postgres", "severity": "critical"})
    assert (decision.route, decision.service, decision.policy, decision.runbook) == (
        "db",
        "database",
        "dba",
        "db-failover",
    )
    assert decision.severity == "P1"
    assert r.decide({"alertname": "X", "service": "api"}).route == "api"
    other = r.decide({"alertname": "X", "service": "queue"}, integration_service="infra")
    assert (other.route, other.service, other.policy) == ("default", "queue", None)


def test_continue_lends_settings_to_later_routes():
    r = router(
        {"name": "prod", "match": ["env=prod"], "continue": True, "policy": "prod-oncall", "resolve_after": "10m"},
        {"name": "db", "match": ["service=db"], "service": "database", "group_by": ["alertname", "cluster"]},
    )
    decision = r.decide({"alertname": "Down", "env": "prod", "service": "db", "cluster": "eu"})
    assert decision.matched == ("prod", "db")
    assert (decision.route, decision.policy, decision.service) == ("db", "prod-oncall", "database")
    assert decision.resolve_after == timedelta(minutes=10)
    assert decision.group_key == "db|alertname=Down,cluster=eu"


@pytest.mark.parametrize(
    ("sent", "expected"),
    [
        ("critical", "P1"),
        ("error", "P2"),
        ("high", "P2"),
        ("warning", "P3"),
        ("info", "P4"),
        ("P0", "P0"),
        ("p2", "P2"),
    ],
)
def test_default_severity_map_and_direct_p_levels(sent, expected):
    assert router().decide({"alertname": "A", "severity": sent}).severity == expected


def test_route_severity_overrides_and_maps():
    r = router(
        {"name": "pay", "match": ["service=payments"], "severity": "P0"},
        {"name": "custom", "match": ["team=x"], "severity_map": {"page": "P1"}, "severity_label": "priority"},
    )
    assert r.decide({"service": "payments", "severity": "info"}).severity == "P0"
    assert r.decide({"team": "x", "priority": "page"}).severity == "P1"
    assert r.decide({"alertname": "A"}, integration_severity="P2").severity == "P2"
    assert r.decide({"alertname": "A", "severity": "bogus"}).severity == "P3"


def test_route_test_explains_why():
    r = router({"name": "db", "match": ["service=db", 'env=~"prod.*"']})
    decision = r.decide({"service": "db", "env": "staging"}, explain=True)
    [(name, ok, reasons)] = decision.explanations
    assert (name, ok) == ("db", False)
    assert reasons == [
        "service=\"db\" matches (service='db')",
        "env=~\"prod.*\" does not match (env='staging')",
    ]


def test_group_by_everything_and_long_keys_are_hashed():
    r = router({"name": "all", "group_by": ["..."]})
    assert r.decide({"b": "2", "a": "1"}).group_key == "all|a=1,b=2"
    long = r.decide({"a": "x" * 400}).group_key
    assert long.startswith("all|sha256:") and len(long) < 255
