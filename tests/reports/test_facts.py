"""Facts finds incidents by id with a binary search: any id, however large, and ids outside the period."""

from __future__ import annotations

import numpy as np

from warroom.reports.phases import Facts, find


def test_positions_of_ids_however_large_and_only_those_in_the_period() -> None:
    huge = 10**15  # an imported incident number: no array as long as the largest id is built
    facts = Facts([7, huge, 3], ["P2", "P1", "P1"], [0.0, 0.0, 0.0], [[1.0, 2.0, 3.0]] * 5)
    # ordered by severity: P1 (huge, 3) then P2 (7), each severity keeping the given order
    assert facts.ids == [huge, 3, 7]
    asked = np.array([3, 5, huge, -1, 7, huge + 1], dtype=np.int64)
    assert facts.positions_of(asked).tolist() == [0, 1, 2]
    assert facts.positions_of(np.array([], dtype=np.int64)).tolist() == []
    assert find(np.array([2, 4], dtype=np.int64), np.array([4, 1, 5, 2], dtype=np.int64)).tolist() == [1, -1, -1, 0]
    assert find(np.array([], dtype=np.int64), np.array([1], dtype=np.int64)).tolist() == [-1]
