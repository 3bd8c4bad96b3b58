"""Median, 90th percentile and mean of a list of durations, as the reports define them (medians first)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any


def median(values: Sequence[float]) -> float | None:
    """The middle value; the mean of the two middle ones for an even count."""
    return _median_of_sorted(sorted(values)) if values else None


def _median_of_sorted(ordered: Sequence[float]) -> float:
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def p90(values: Sequence[float]) -> float | None:
    """Nearest rank: the smallest value that at least 90% of the values are at or below (no interpolation)."""
    return _p90_of_sorted(sorted(values)) if values else None


def _p90_of_sorted(ordered: Sequence[float]) -> float:
    return ordered[math.ceil(0.9 * len(ordered)) - 1]


def mean(values: Sequence[float]) -> float | None:
    """The arithmetic mean."""
    return sum(values) / len(values) if values else None


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def summary(values: Sequence[float]) -> dict[str, Any]:
    """count, median, p90 and mean (seconds, one decimal); the values are sorted once."""
    return summary_of_sorted(sorted(values))


def summary_of_sorted(ordered: Sequence[float]) -> dict[str, Any]:
    """summary() of values already sorted in ascending order."""
    if not ordered:
        return {"count": 0, "median": None, "p90": None, "mean": None}
    return {
        "count": len(ordered),
        "median": _round(_median_of_sorted(ordered)),
        "p90": _round(_p90_of_sorted(ordered)),
        "mean": _round(sum(ordered) / len(ordered)),
    }


def summary_of_histogram(histogram: Sequence[tuple[float, int]]) -> dict[str, Any]:
    """summary() of the values that `histogram` lists as (value, how many times), sorted by value."""
    total = sum(k for _, k in histogram)
    if not total:
        return summary([])

    def nth(rank: int) -> float:  # the rank-th smallest value, 1-based
        seen = 0
        for value, k in histogram:
            seen += k
            if seen >= rank:
                return value
        raise IndexError(rank)

    middle = nth(total // 2 + 1) if total % 2 else (nth(total // 2) + nth(total // 2 + 1)) / 2
    return {
        "count": total,
        "median": _round(middle),
        "p90": _round(nth(math.ceil(0.9 * total))),
        "mean": _round(sum(v * k for v, k in histogram) / total),
    }


def share(part: int, whole: int) -> float | None:
    """part / whole rounded to 3 decimals; None when there is nothing to divide."""
    return round(part / whole, 3) if whole else None
