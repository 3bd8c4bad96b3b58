"""The routing cache: alerts that differ only in labels no route reads share one decision."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from warroom.alerts.config import RouteConfig
from warroom.alerts.routing import Router

SEVERITIES = ["P0", "P1", "P2", "P3", "P4"]
ROUTES = [
    {"name": "prod", "match": ['env="prod"'], "continue": True, "policy": "prod-oncall"},
    {"name": "db", "match": ['service=~"db|postgres"'], "group_by": ["cluster"], "severity_label": "level"},
    {"name": "web", "match": ["team!=infra"], "group_by": ["alertname", "service"]},
]


def router(routes=ROUTES) -> Router:
    return Router([RouteConfig.model_validate(r) for r in routes], SEVERITIES)


label_values = st.sampled_from(["", "prod", "db", "postgres", "infra", "critical", "warning", "x"])
label_sets = st.dictionaries(
    st.sampled_from(["env", "service", "team", "cluster", "level", "severity", "alertname", "instance", "pod"]),
    label_values,
    max_size=8,
)


@settings(max_examples=300, deadline=None)
@given(st.lists(label_sets, min_size=1, max_size=20))
def test_the_cached_decision_is_always_the_uncached_one(batch):
    cached = router()
    for labels in batch:
        assert cached.decide_cached(labels, None, None) == router().decide(labels)


def test_labels_no_route_reads_do_not_make_new_decisions():
    cached = router()
    for instance, pod in itertools.product(range(50), range(4)):
        cached.decide_cached(
            {"alertname": "Down", "service": "api", "instance": f"h{instance}", "pod": str(pod)}, None, None
        )
    assert len(cached._cache) == 1


@pytest.mark.parametrize("group_by", [["..."], ["alertname", "..."]])
def test_grouping_by_every_label_keys_the_cache_by_every_label(group_by):
    cached = router([{"name": "all", "group_by": group_by}])
    first = cached.decide_cached({"alertname": "Down", "instance": "a"}, None, None)
    second = cached.decide_cached({"alertname": "Down", "instance": "b"}, None, None)
    assert first.group_key != second.group_key
