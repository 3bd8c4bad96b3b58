"""The runbook section's rank masks against the obvious loops, their figures against figures.summary."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from warroom.reports import figures
from warroom.reports.phases import positions
from warroom.reports.runbook_use import _Ranked


@pytest.mark.parametrize("size", [0, 1, 2, 9, 100, 1000])
def test_the_mask_and_its_figures_are_those_of_the_subset(size: int) -> None:
    rng = random.Random(size)
    # not resolved: not a finite number, as the facts hold it; ties (a few repeated values) on purpose
    resolve = [
        rng.choice((math.nan, math.inf)) if rng.random() < 0.2 else round(rng.uniform(0, 50), 0) for _ in range(size)
    ]
    ranked = _Ranked(np.array(resolve, dtype=np.float64))
    assert ranked.values.tolist() == sorted(t for t in resolve if math.isfinite(t))
    for _ in range(20):
        chosen = rng.sample(range(size), rng.randint(0, size))
        mask = ranked.mask(positions(chosen))
        times = [t for p in chosen if math.isfinite(t := resolve[p])]
        # the subset's values, read off the mask in rank order, are its resolve times sorted
        assert ranked.values[mask[:-1]].tolist() == sorted(times)
        # the mask's figures are the subset's, ties and all
        assert ranked.summary(mask) == figures.summary(times)
    assert ranked.summary(ranked.none()) == figures.summary([])
