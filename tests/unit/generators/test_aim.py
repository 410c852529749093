import sys

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("mbi")

from _planted import assert_reloads_identically  # noqa: E402

from synthscape.errors import OptionalDependencyError, ParameterError  # noqa: E402
from synthscape.evaluation.marginals import marginal_scores  # noqa: E402
from synthscape.generators import make  # noqa: E402
from synthscape.generators._marginal_pgm import CliqueModel, Measurement  # noqa: E402


@pytest.fixture(scope="module")
def fitted(planted):
    df, schema = planted
    return make("aim", epsilon=5.0, seed=0).fit(df, schema)


def test_ledger_within_budget_and_every_round_recorded(planted, fitted):
    led = fitted.ledger_
    assert 0.9 * 5.0 < led.epsilon <= 5.0 * (1 + 1e-9)
    kinds = [e.kind for e in led.events]
    assert kinds[:5] == ["gaussian"] * 5  # the one-way marginals first
    rounds = kinds[5:]
    assert rounds and rounds == ["exponential", "gaussian"] * (len(rounds) // 2)


@pytest.mark.parametrize("eps", [0.2, 1.0])
def test_small_budgets_stay_within(planted, eps):
    df, schema = planted
    gen = make("aim", epsilon=eps, seed=1).fit(df, schema)
    assert gen.ledger_.epsilon <= eps * (1 + 1e-9)


def test_utility_band_against_independent(planted, fitted):
    df, schema = planted
    aim = marginal_scores(df, fitted.sample(len(df), seed=1), schema)
    ind = marginal_scores(df, make("independent", epsilon=5.0, seed=0).fit(df, schema)
                          .sample(len(df), seed=1), schema)
    assert 0.005 < aim["two_way_tvd_mean"] < 0.06
    assert aim["two_way_tvd_mean"] < 0.5 * ind["two_way_tvd_mean"]
    assert any(set(c) == {"a", "b"} for c in fitted.cliques_)  # the planted dependency


def test_conditions_and_rebalancing(fitted):
    syn = fitted.sample(500, conditions={"b": "b2"}, seed=0)
    assert (syn["b"] == "b2").all() and (syn["a"] == "a2").mean() > 0.6
    reb = fitted.sample(100, conditions={"e": {"u": 0.3, "w": 0.7}}, seed=0)
    assert (reb["e"] == "u").sum() == 30 and (reb["e"] == "w").sum() == 70


def test_determinism_and_save_load(planted, fitted, tmp_path):
    df, schema = planted
    again = make("aim", epsilon=5.0, seed=0).fit(df, schema)
    pd.testing.assert_frame_equal(fitted.sample(300, seed=2), again.sample(300, seed=2))
    assert_reloads_identically(fitted, tmp_path / "m")


def test_bad_parameters(planted):
    df, schema = planted
    for bad in ({"degree": 4}, {"rounds": 0}, {"accountant": "prv"}, {"max_model_size": -1.0}):
        with pytest.raises(ParameterError):
            make("aim", epsilon=1.0, **bad).fit(df, schema)


def test_missing_extra_names_it(planted, monkeypatch):
    df, schema = planted
    monkeypatch.setitem(sys.modules, "mbi", None)
    with pytest.raises(OptionalDependencyError, match=r"synthscape\[aim\]"):
        make("aim", epsilon=1.0).fit(df, schema)


def test_clique_model_recovers_exact_measurements():
    rng = np.random.default_rng(0)
    joint = rng.random((3, 4))
    joint = joint / joint.sum() * 1000
    ms = [Measurement((0, 1), joint.ravel(), 1.0), Measurement((1,), joint.sum(0), 1.0)]
    model = CliqueModel([3, 4], [(0,), (1,), (0, 1)], total=1000.0).fit(ms, 500)
    assert model.cliques == [(0, 1)]
    np.testing.assert_allclose(model.marginal((0, 1)), joint, atol=0.5)
    np.testing.assert_allclose(model.marginal((1, 0)), joint.T, atol=0.5)
