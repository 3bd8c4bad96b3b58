"""Up/down state from results: N failures, a failing duration, damped recovery."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from warroom.monitors.state import DOWN, UP, MonitorState, Policy, observe

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def feed(policy, results, step=timedelta(seconds=30)):
    state, transitions = MonitorState(), []
    for index, ok in enumerate(results):
        transitions.append(observe(state, ok, T0 + index * step, policy))
    return state, transitions


def test_down_after_n_consecutive_failures():
    state, transitions = feed(Policy(down_after=3), [True, False, False, True, False, False, False])
    assert transitions == [UP, None, None, None, None, None, DOWN]
    assert state.state == DOWN and state.failures == 3


def test_down_after_failing_for_a_duration():
    # for: 5m at a 1 minute interval: failing since minute 0, down at minute 5, not before.
    state, transitions = feed(Policy(down_for=timedelta(minutes=5)), [False] * 7, step=timedelta(minutes=1))
    assert transitions == [None, None, None, None, None, DOWN, None]
    assert state.since == T0 + timedelta(minutes=5)


def test_a_flapping_target_stays_down_until_recover_after_successes_in_a_row():
    policy = Policy(down_after=1, recover_after=3)
    _, transitions = feed(policy, [False, True, True, False, True, True, True, True])
    assert transitions == [DOWN, None, None, None, None, None, UP, None]


def test_healthy_state_stops_changing_so_it_need_not_be_written():
    state, _ = feed(Policy(recover_after=2), [True] * 10)
    assert (state.state, state.successes, state.failures) == (UP, 2, 0)
