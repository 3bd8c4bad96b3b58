"""The runbook section's rank bitmask and its sum against the obvious loops, its figures against figures.summary."""

from __future__ import annotations

import math
import random

import pytest

from warroom.reports import figures
from warroom.reports.runbook_use import _Ranked


@pytest.mark.parametrize("size", [0, 1, 2, 9, 100, 1000])
def test_the_mask_and_its_figures_are_those_of_the_subset(size: int) -> None:
    rng = random.Random(size)
    # not resolved: not a finite number, as the facts hold it
    resolve = [
        rng.choice((math.nan, math.inf)) if rng.random() < 0.2 else round(rng.uniform(0, 5000), 3) for _ in range(size)
    ]
    ranked = _Ranked(resolve)
    for _ in range(20):
        positions = rng.sample(range(size), rng.randint(0, size))
        expected = 0
        for p in positions:
            if math.isfinite(resolve[p]):
                expected |= 1 << sorted(t for t in resolve if math.isfinite(t)).index(resolve[p])
        mask = ranked.mask(positions)
        assert mask == expected
        times = [t for p in positions if math.isfinite(t := resolve[p])]
        assert ranked.total(mask) == sum(sorted(times))  # the same additions, in the same order
        # the mask's figures are the subset's, ties and all
        assert ranked.summary(mask, ranked.total(mask)) == figures.summary(times)
