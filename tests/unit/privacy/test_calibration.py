"""The noise calibration's root finder: the least noise that fits, within its tolerance."""
from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from synthscape.privacy.analysis.calibration import bisect_decreasing


def _power(scale: float, power: float, floor: float):
    return lambda x: scale / x ** power + floor


@settings(max_examples=300, deadline=None)
@given(scale=st.floats(1e-3, 1e3), power=st.floats(0.2, 4.0), floor=st.floats(0.0, 0.5),
       target=st.floats(0.01, 20.0), rel_tol=st.sampled_from([1e-6, 1e-4, 2e-3, 0.05]))
def test_answer_fits_and_is_within_tolerance_of_the_boundary(scale, power, floor, target,
                                                              rel_tol):
    cost = _power(scale, power, floor)
    lo, hi = 1e-3, 1e4
    if cost(hi) > target:
        with pytest.raises(ValueError):
            bisect_decreasing(cost, target, lo, hi, rel_tol=rel_tol)
        return
    x = bisect_decreasing(cost, target, lo, hi, rel_tol=rel_tol)
    assert lo <= x <= hi
    assert cost(x) <= target
    if x > lo:  # a point rel_tol below the answer no longer fits
        assert cost(x * (1 - rel_tol)) > target


@settings(max_examples=200, deadline=None)
@given(edge=st.floats(1e-2, 1e3), jump=st.floats(1e-2, 1e3), level=st.floats(0.0, 10.0),
       target=st.floats(0.01, 10.0))
def test_steps_infinite_and_free_regions(edge, jump, level, target):
    """Costs that are inf below one point, flat, then zero: no slope to follow."""
    def cost(x: float) -> float:
        return math.inf if x < edge else (level if x < edge + jump else 0.0)

    x = bisect_decreasing(cost, target, 1e-3, 1e4)
    assert cost(x) <= target
    assert cost(x * (1 - 1e-4)) > target


def test_needs_few_evaluations_on_a_smooth_cost():
    calls = []

    def cost(x: float) -> float:
        calls.append(x)
        return 3.0 / x + 0.01 / x ** 2

    bisect_decreasing(cost, 1.0, 1e-3, 1e4)
    assert len(calls) <= 14  # plain bisection over [1e-3, 1e4] needs about 29


def test_lower_end_zero_falls_back_to_bisection():
    x = bisect_decreasing(lambda v: 1.0 - v, 0.25, 0.0, 1.0, rel_tol=1e-6)
    assert x == pytest.approx(0.75, rel=1e-5) and 1.0 - x <= 0.25
