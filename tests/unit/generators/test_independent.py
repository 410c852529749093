import numpy as np
import pandas as pd
import pytest
from _planted import assert_reloads_identically

from synthscape.evaluation.marginals import marginal_scores, one_way_tvd
from synthscape.generators import make


@pytest.mark.parametrize("eps", [0.05, 1.0, 10.0])
@pytest.mark.parametrize("accountant", ["rdp", "pld"])
def test_ledger_never_above_budget(planted, eps, accountant):
    df, schema = planted
    gen = make("independent", epsilon=eps, accountant=accountant, seed=0).fit(df, schema)
    assert 0.9 * eps < gen.ledger_.epsilon <= eps * (1 + 1e-9)
    assert [e.kind for e in gen.ledger_.events] == ["gaussian"] * 5


def test_one_way_band_and_no_dependencies(planted):
    df, schema = planted
    syn = make("independent", epsilon=5.0, seed=0).fit(df, schema).sample(len(df), seed=1)
    scores = marginal_scores(df, syn, schema)
    assert 0.002 < scores["one_way_tvd_mean"] < 0.04
    # b copies a 90% of the time; independent sampling cannot keep that
    assert (syn["a"].str[1] == syn["b"].str[1]).mean() < 0.4
    assert scores["two_way_tvd_mean"] > 0.1


def test_more_budget_better_one_way(planted):
    df, schema = planted
    def err(eps):
        syn = make("independent", epsilon=eps, seed=0).fit(df, schema).sample(len(df), seed=1)
        return np.mean(list(one_way_tvd(df, syn, schema).values()))
    assert err(0.01) > err(10.0) + 0.05


def test_conditions_native_and_others_unchanged(planted):
    df, schema = planted
    gen = make("independent", epsilon=5.0, seed=0).fit(df, schema)
    syn = gen.sample(3000, conditions={"e": "v"}, seed=0)
    assert (syn["e"] == "v").all()
    assert abs(syn["d"].mean() - df["d"].mean()) < 0.05


def test_determinism_and_save_load(planted, tmp_path):
    df, schema = planted
    a = make("independent", epsilon=1.0, seed=2).fit(df, schema)
    b = make("independent", epsilon=1.0, seed=2).fit(df, schema)
    pd.testing.assert_frame_equal(a.sample(200, seed=0), b.sample(200, seed=0))
    assert_reloads_identically(a, tmp_path / "m")


def test_without_schema_pays_for_inference(planted):
    df, _ = planted
    gen = make("independent", epsilon=4.0, seed=0).fit(df)
    labels = [e.kind for e in gen.ledger_.events]
    assert len(labels) > 5 and gen.ledger_.epsilon <= 4.0 * (1 + 1e-9)
