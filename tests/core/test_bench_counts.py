"""The benches count what a user would count: lost pages, shed checks and unstored 2xx answers are in the figures."""

from __future__ import annotations

import importlib.util
import math
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being defined
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def escalation() -> ModuleType:
    return _load("escalation")


@pytest.fixture(scope="module")
def monitors() -> ModuleType:
    return _load("monitors")


@pytest.fixture(scope="module")
def ingest() -> ModuleType:
    return _load("ingest")


def test_a_first_page_that_never_came_is_lost_and_stays_in_the_percentiles(escalation):
    # 98 pages in 10 ms and two that never arrived: 2% lost, so the p99 is not 10 ms.
    figures = escalation.first_page_figures([0.010] * 98 + [None, None])
    assert figures["lost"] == 2
    assert figures["samples"] == 100
    assert figures["p50_ms"] == pytest.approx(10.0)
    assert math.isinf(figures["p99_ms"])


def test_every_first_page_arriving_gives_finite_percentiles(escalation):
    figures = escalation.first_page_figures([0.010] * 49 + [0.200])
    assert figures["lost"] == 0
    assert figures["p99_ms"] == pytest.approx(200.0)


def test_shed_checks_count_in_the_start_delay_as_late_by_their_full_delay(monitors):
    # 990 checks started on time, 10 were shed: the p99 start delay is the shed ones' (a whole interval).
    figures = monitors.start_delay_figures([0.001] * 990, shed=10, interval=10.0)
    assert figures["due"] == 1000
    assert figures["p50_ms"] == pytest.approx(1.0)
    assert figures["p99_ms"] == pytest.approx(10_000.0)
    assert monitors.start_delay_figures([0.001] * 1000, shed=0, interval=10.0)["p99_ms"] == pytest.approx(1.0)


def test_an_alert_answered_2xx_but_not_stored_is_reported(ingest):
    answered = Counter({"a": 2, "b": 1})
    assert ingest.unstored(answered, {"a": 2, "b": 1}) == []
    assert ingest.unstored(answered, {"a": 2, "b": 3}) == []  # committed, answer cut off (a SIGKILL): not a loss
    assert ingest.unstored(answered, {"a": 2}) == ["b"]
    assert ingest.unstored(answered, {"a": 1, "b": 1}) == ["a"]
