import math

import numpy as np
import pandas as pd
import pytest
from _planted import assert_reloads_identically

from synthscape.errors import ParameterError
from synthscape.generators import make
from synthscape.schema import TableSchema
from synthscape.schema.column import Column


def test_ledger_says_not_private(planted):
    df, schema = planted
    gen = make("gaussian_copula", seed=0).fit(df, schema)
    assert not gen.ledger_.is_private and math.isinf(gen.ledger_.epsilon)
    assert "NOT PRIVATE" in gen.ledger_.describe()


def test_keeps_correlation_and_marginals():
    rng = np.random.default_rng(0)
    n = 3000
    x = rng.normal(50, 10, n)
    y = 0.8 * (x - 50) + rng.normal(0, 6, n) + 50
    df = pd.DataFrame({"x": np.clip(x, 0, 100), "y": np.clip(y, 0, 100)})
    schema = TableSchema(columns=(Column(name="x", kind="numerical", lower=0, upper=100),
                                  Column(name="y", kind="numerical", lower=0, upper=100)))
    syn = make("gaussian_copula", seed=0).fit(df, schema).sample(n, seed=1)
    real_r, syn_r = df.corr().iloc[0, 1], syn.corr().iloc[0, 1]
    assert 0.6 < real_r and abs(real_r - syn_r) < 0.05
    assert abs(syn["x"].mean() - df["x"].mean()) < 1.0


def test_nulls_and_categories(planted):
    df, schema = planted
    syn = make("gaussian_copula", seed=0).fit(df, schema).sample(4000, seed=0)
    freq_real = df["e"].value_counts(normalize=True)
    freq_syn = syn["e"].value_counts(normalize=True)
    assert (freq_real - freq_syn).abs().max() < 0.03


def test_impossible_condition_is_a_clear_error(planted):
    df, _ = planted
    schema = TableSchema(columns=(
        Column(name="a", kind="categorical", categories=("a0", "a1", "a2", "a3", "a4", "never")),
    ))
    gen = make("gaussian_copula", seed=0).fit(df[["a"]], schema)
    with pytest.raises(ParameterError, match="almost never"):
        gen.sample(10, conditions={"a": "never"})


def test_invalid_quantiles(planted):
    df, schema = planted
    with pytest.raises(ParameterError, match="n_quantiles"):
        make("gaussian_copula", n_quantiles=1).fit(df, schema)


def test_save_load(planted, tmp_path):
    df, schema = planted
    gen = make("gaussian_copula", seed=1).fit(df, schema)
    assert_reloads_identically(gen, tmp_path / "m")
