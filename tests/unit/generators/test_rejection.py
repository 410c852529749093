"""Rejection rounds: a rare but reachable condition finishes however many rounds it takes; one
the model never meets stops after about ln(1000) / MIN_RATE draws; a rate a few times
MIN_RATE is not called hopeless."""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from synthscape.generators._rejection import MIN_RATE, Rounds


def _run(p: float, n: int, cap: int, seed: int) -> Rounds:
    rng = np.random.default_rng(seed)
    r = Rounds(n, first=64, cap=cap)
    while not r.done and not r.hopeless():
        k = r.size()
        assert 1 <= k <= cap
        r.record(k, int(rng.binomial(k, p)))
    return r


def test_a_rare_reachable_condition_takes_as_many_rounds_as_it_needs():
    r = _run(p=0.005, n=2_000, cap=1_000, seed=0)  # about 400 rounds of the cap
    assert r.done and r.have >= 2_000
    assert 300_000 < r.tried < 500_000


def test_a_condition_never_met_stops_after_a_bounded_number_of_draws():
    r = _run(p=0.0, n=10, cap=5_000_000, seed=0)
    assert not r.done and r.hopeless()
    assert np.log(1000) / MIN_RATE <= r.tried <= 5_000_000 + 64
    assert "acceptance rate below" in r.why()


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), factor=st.floats(3.0, 50.0),
       n=st.integers(1, 300))
def test_a_rate_a_few_times_min_rate_finishes(seed, factor, n):
    r = _run(p=MIN_RATE * factor, n=n, cap=200_000, seed=seed)
    assert r.done


def test_the_upper_bound_covers_the_rate():
    rng = np.random.default_rng(1)
    p, misses = 0.01, 0
    for _ in range(200):
        r = Rounds(10, first=64, cap=1_000)
        k = 500
        r.record(k, int(rng.binomial(k, p)))
        misses += r.upper_rate() < p
    assert misses <= 3  # at 99.9% about 0.2 expected
