"""Edge-case search: weights, intervals, unbiased estimates that agree with Monte Carlo."""
import numpy as np
import pytest

from synthscape_autonomy.catalogue import load
from synthscape_autonomy.distributions import Choice, Normal, ParameterSpace, Proposal, Uniform
from synthscape_autonomy.scenario import Scene
from synthscape_autonomy.search import compare, wilson


def test_wilson_interval():
    lo, hi = wilson(0, 100, 0.95)
    assert lo == 0.0 and 0.02 < hi < 0.05
    lo, hi = wilson(30, 100, 0.95)
    assert lo < 0.3 < hi


def test_importance_weights_are_exact_likelihood_ratios():
    space = ParameterSpace({"a": Uniform(uniform=(0, 1)), "b": Normal(normal=(5, 2)),
                            "c": Choice(choice=["x", "y", "z"], weights=[0.7, 0.2, 0.1])})
    z, idx, values, lw = space.draw(np.random.default_rng(0))
    assert lw == 0.0 and 0 <= values["a"] <= 1 and values["c"] in "xyz"
    q = Proposal(np.array([1.0, -1.0]), np.array([0.9, 1.1]),  # std > 1/sqrt(2): finite variance
                 {"c": np.array([0.2, 0.3, 0.5])})
    rng = np.random.default_rng(1)
    w = np.exp([space.draw(rng, q)[3] for _ in range(20000)])
    assert abs(w.mean() - 1.0) < 0.05  # E_q[p/q] = 1


def _small(name):
    spec = load(name)
    return spec.model_copy(update={"search": spec.search.model_copy(update={
        "mc_episodes": 300, "ce_iterations": 3, "ce_episodes": 60, "is_episodes": 150})})


@pytest.mark.slow
def test_cross_entropy_finds_more_failures_and_agrees_with_monte_carlo():
    res = compare(Scene(_small("pedestrian_dart_out")))
    mc, imp = res["monte_carlo"], res["importance_sampling"]
    assert mc["failures"] > 0
    assert res["estimates_agree"]
    assert imp["failures_per_sim_second"] > 3 * mc["failures_per_sim_second"]
    assert imp["ci_low"] <= imp["estimate"] <= imp["ci_high"]


@pytest.mark.slow
def test_augmentation_oversamples_edge_cases_with_weights():
    from synthscape_autonomy.augment import mixture_draws
    from synthscape_autonomy.rollout import simulate

    scene = Scene(_small("pedestrian_dart_out"))
    draws, weights, sources, info = mixture_draws(scene, 120, 0.3)
    r = simulate(scene, draws)
    fail = r.episodes["failure"]
    assert 0.15 < fail.mean() < 0.5  # about the requested 30 %, far above the nominal 2-3 %
    assert "edge_case" in sources and "nominal" in sources
    w = np.asarray(weights)
    assert (w > 0).all()
    weighted = float((w * fail).sum() / len(w))
    assert weighted < 0.1  # the weighted failure rate is back near the nominal one


def test_a_search_that_stops_short_of_the_failure_level_says_so():
    spec = load("lead_braking_dry")  # MC rate about 2e-4: one small stage cannot reach it
    spec = spec.model_copy(update={"search": spec.search.model_copy(update={
        "mc_episodes": 40, "ce_iterations": 1, "ce_episodes": 40, "is_episodes": 20})})
    res = compare(Scene(spec))
    assert res["stages"][-1]["level"] > 0 and res["ce_reached_failure"] is False
