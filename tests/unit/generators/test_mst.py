import itertools

import numpy as np
import pandas as pd
import pytest
from _planted import assert_reloads_identically

from synthscape.errors import BudgetExceededError, ParameterError
from synthscape.evaluation.marginals import marginal_scores
from synthscape.generators import make
from synthscape.generators.mst import ipf
from synthscape.privacy.events import ExponentialEvent, GaussianEvent, ZCdpEvent


def fit(planted, eps=5.0, seed=0, **kw):
    df, schema = planted
    return make("mst", epsilon=eps, seed=seed, **kw).fit(df, schema)


@pytest.mark.parametrize("eps", [0.1, 1.0, 8.0])
def test_ledger_never_above_budget(planted, eps):
    gen = fit(planted, eps=eps)
    assert 0.9 * eps < gen.ledger_.epsilon <= eps * (1 + 1e-9)
    kinds = [e.kind for e in gen.ledger_.events]
    assert kinds.count("gaussian") == 5 + 4 and kinds.count("exponential") == 4


def test_every_measurement_is_in_the_ledger(planted):
    events = fit(planted).ledger_.events
    labels = [e.label for e in events]
    assert sum(isinstance(e, GaussianEvent) and "one-way" in e.label for e in events) == 5
    assert sum(isinstance(e, GaussianEvent) and "two-way" in e.label for e in events) == 4
    assert sum(isinstance(e, ExponentialEvent) for e in events) == 4, labels


def test_spanning_tree_recovers_planted_dependencies(planted):
    for seed in range(3):
        tree = {frozenset(e) for e in fit(planted, eps=10.0, seed=seed).tree_}
        assert frozenset(("a", "b")) in tree and frozenset(("a", "x")) in tree or \
            frozenset(("b", "x")) in tree and frozenset(("a", "b")) in tree


def test_utility_band_against_independent(planted):
    df, schema = planted
    mst = marginal_scores(df, fit(planted, eps=5.0).sample(len(df), seed=1), schema)
    ind = marginal_scores(df, make("independent", epsilon=5.0, seed=0).fit(df, schema)
                          .sample(len(df), seed=1), schema)
    assert 0.005 < mst["two_way_tvd_mean"] < 0.06
    assert mst["two_way_tvd_mean"] < 0.5 * ind["two_way_tvd_mean"]
    assert mst["one_way_tvd_mean"] < 0.05


def test_less_budget_gives_worse_marginals(planted):
    df, schema = planted
    tight = marginal_scores(df, fit(planted, eps=0.02).sample(len(df), seed=1), schema)
    loose = marginal_scores(df, fit(planted, eps=5.0).sample(len(df), seed=1), schema)
    assert tight["two_way_tvd_mean"] > loose["two_way_tvd_mean"] + 0.02


def _model_joint(gen, cols):
    """Exact joint of the discrete columns ``cols`` by brute-force enumeration of the tree."""
    names = gen.disc_.names
    sizes = gen.disc_.sizes
    joint = np.zeros([sizes[names.index(c)] for c in cols])
    for combo in itertools.product(*[range(k) for k in sizes]):
        p = 1.0
        for v in gen.order_:
            pa = gen.parent_[v]
            p *= gen.tables_[v][combo[v]] if pa < 0 else gen.tables_[v][combo[pa], combo[v]]
        joint[tuple(combo[names.index(c)] for c in cols)] += p
    return joint


def test_conditional_sampling_is_exact(planted):
    df, schema = planted
    gen = make("mst", epsilon=2.0, seed=0, bins=4).fit(df, schema)
    joint = _model_joint(gen, ["a", "b", "e"])
    for cond_col, code in (("b", 2), ("e", 1)):  # evidence at different places in the tree
        value = gen.disc_["b" if cond_col == "b" else "e"].values[code]
        syn = gen.sample(40_000, conditions={cond_col: value}, seed=5)
        assert (syn[cond_col] == value).all()
        sl = joint[:, code, :].sum(axis=1) if cond_col == "b" else joint[:, :, code].sum(axis=1)
        want = sl / sl.sum()
        got = syn["a"].value_counts(normalize=True).reindex(gen.disc_["a"].values, fill_value=0)
        assert np.abs(got.to_numpy() - want).max() < 0.015


def test_condition_on_strong_neighbour_shifts_it(planted):
    syn = fit(planted, eps=5.0).sample(2000, conditions={"b": "b3"}, seed=0)
    assert (syn["a"] == "a3").mean() > 0.7


def test_two_conditions_at_once(planted):
    syn = fit(planted).sample(500, conditions={"a": "a1", "e": "w"}, seed=0)
    assert (syn["a"] == "a1").all() and (syn["e"] == "w").all()


def test_determinism_and_save_load(planted, tmp_path):
    a = fit(planted, seed=3).sample(300, seed=9)
    b = fit(planted, seed=3).sample(300, seed=9)
    pd.testing.assert_frame_equal(a, b)
    c = fit(planted, seed=4).sample(300, seed=9)
    assert not a.equals(c)
    gen = fit(planted, seed=3, binning="quantile")
    assert_reloads_identically(gen, tmp_path / "m")


def test_single_column_table(planted):
    df, schema = planted
    from synthscape.schema import TableSchema

    one = TableSchema(columns=(schema["a"],))
    gen = make("mst", epsilon=1.0, seed=0).fit(df[["a"]], one)
    assert gen.tree_ == [] and gen.ledger_.epsilon <= 1.0 + 1e-9
    assert set(gen.sample(50)["a"]) <= set(schema["a"].categories)


def test_missing_epsilon_is_a_parameter_error(planted):
    df, schema = planted
    with pytest.raises(ParameterError, match="epsilon"):
        make("mst", epsilon=None).fit(df, schema)
    with pytest.raises(ParameterError, match="bins"):
        make("mst", bins=1).fit(df, schema)
    with pytest.raises(ParameterError, match="accountant"):
        make("mst", accountant="pld").fit(df, schema)


def test_shared_ledger_almost_spent_stays_within_budget(planted):
    from synthscape.privacy import Budget, PrivacyLedger

    df, schema = planted
    led = PrivacyLedger(Budget(epsilon=1.0, delta=1e-6))
    led.spend(ZCdpEvent(rho=led.remaining_rho() * 0.999))
    try:
        make("mst", epsilon=1.0).fit(df, schema, ledger=led)
    except BudgetExceededError:
        pass
    assert led.epsilon <= 1.0 * (1 + 1e-9)


def test_ipf_matches_margins():
    rng = np.random.default_rng(0)
    t = ipf(rng.random((4, 3)) + 0.1, np.array([0.1, 0.2, 0.3, 0.4]), np.array([0.5, 0.25, 0.25]))
    np.testing.assert_allclose(t.sum(axis=1), [0.1, 0.2, 0.3, 0.4], atol=1e-8)
    np.testing.assert_allclose(t.sum(axis=0), [0.5, 0.25, 0.25], atol=1e-8)


def test_large_sample_is_vectorised(planted):
    syn = fit(planted).sample(200_000, seed=0)
    assert len(syn) == 200_000 and syn["x"].between(0, 100).all()


@pytest.mark.parametrize("k_p,k_c", [(33, 33), (2, 2), (5, 40), (1, 7)])
def test_guided_search_equals_searchsorted(k_p, k_c):
    from synthscape.generators._marginal import guided_search

    rng = np.random.default_rng(k_p * 100 + k_c)
    t = rng.random((k_p, k_c))
    t[t < 0.3] = 0  # zero-probability cells give repeated CDF values
    cdf = np.cumsum(np.where(t.sum(1, keepdims=True) > 0, t, 1.0), axis=1)
    cdf /= cdf[:, -1:]
    flat = (cdf + np.arange(k_p)[:, None]).ravel()
    flat[k_c - 1::k_c] = np.arange(1, k_p + 1)
    q = rng.integers(0, k_p, 50_000) + rng.random(50_000)
    q[:2] = [0.0, k_p - 1e-12]
    np.testing.assert_array_equal(guided_search(flat, q, k_p),
                                  np.searchsorted(flat, q, side="right"))
