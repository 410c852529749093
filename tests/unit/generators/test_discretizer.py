import numpy as np
import pandas as pd
import pytest

from synthscape.errors import ParameterError
from synthscape.privacy import Budget, PrivacyLedger
from synthscape.schema import TableSchema
from synthscape.schema.column import Column
from synthscape.transforms.discretizer import Discretizer

SCHEMA = TableSchema(columns=(
    Column(name="x", kind="numerical", lower=0, upper=100, nullable=True),
    Column(name="k", kind="numerical", lower=1, upper=5, integer=True),
    Column(name="c", kind="categorical", categories=("p", "q"), nullable=True),
    Column(name="f", kind="boolean"),
    Column(name="t", kind="datetime", lower="2020-01-01", upper="2021-01-01"),
    Column(name="key", kind="id"),
))


def table(n=1000, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.exponential(5, n).clip(0, 100)
    x[:10] = np.nan
    c = rng.choice(["p", "q"], n).astype(object)
    c[-5:] = None
    df = pd.DataFrame({"x": x, "k": rng.integers(1, 6, n), "c": c, "f": rng.random(n) < 0.5,
                       "t": pd.Timestamp("2020-01-01")
                       + pd.to_timedelta(rng.integers(0, 300, n), "D"),
                       "key": np.arange(n)})
    return SCHEMA.validate(df)


def test_uniform_codes_sizes_and_nulls():
    data = table()
    disc = Discretizer.fit(data, SCHEMA, bins=10)
    assert disc.names == ["x", "k", "c", "f", "t"]  # id columns are not modelled
    assert disc.sizes == [11, 5, 3, 2, 10]  # x: 10 bins + null; k: one bin per integer
    codes = disc.encode(data)
    assert codes.shape == (len(data), 5)
    assert (codes[:10, 0] == 10).all() and (codes[10:, 0] < 10).all()
    assert (codes[-5:, 2] == 2).all()
    np.testing.assert_array_equal(codes[:, 1], data["k"].to_numpy() - 1)


def test_decode_stays_in_the_bin():
    data = table()
    disc = Discretizer.fit(data, SCHEMA, bins=10)
    codes = disc.encode(data)
    back = disc.decode(codes, np.random.default_rng(0))
    np.testing.assert_array_equal(disc.encode(back), codes)
    assert back["x"].isna().sum() == 10 and back["c"].isna().sum() == 5
    assert set(back["c"].dropna()) <= {"p", "q"}


def test_quantile_bins_are_paid_and_follow_the_data():
    data = table(5000)
    led = PrivacyLedger(Budget(epsilon=2.0, delta=1e-6))
    disc = Discretizer.fit(data, SCHEMA, bins=8, method="quantile", ledger=led,
                           rho=led.remaining_rho())
    assert [e.kind for e in led.events] == ["gaussian"] * 3  # x, k and t: the numeric columns
    assert led.epsilon <= 2.0 * (1 + 1e-9)
    edges = disc["x"].edges
    assert np.median(edges) < 20  # x is exponential(5): most edges sit low
    counts = np.bincount(disc.encode(data)[:, 0], minlength=disc["x"].size)[:-1]
    assert counts.max() < 0.35 * counts.sum()  # roughly balanced bins
    back = disc.decode(disc.encode(data), np.random.default_rng(1))
    np.testing.assert_array_equal(disc.encode(back)[:, 0], disc.encode(data)[:, 0])


def test_quantile_needs_a_ledger():
    with pytest.raises(ParameterError, match="ledger"):
        Discretizer.fit(table(), SCHEMA, method="quantile")
    with pytest.raises(ParameterError, match="binning method"):
        Discretizer.fit(table(), SCHEMA, method="kmeans")


def test_state_round_trip():
    data = table()
    led = PrivacyLedger(Budget(epsilon=1.0))
    disc = Discretizer.fit(data, SCHEMA, bins=6, method="quantile", ledger=led,
                           rho=led.remaining_rho())
    state, arrays = disc.get_state()
    import json

    again = Discretizer.from_state(json.loads(json.dumps(state)), arrays)
    codes = disc.encode(data)
    np.testing.assert_array_equal(again.encode(data), codes)
    a = disc.decode(codes, np.random.default_rng(3))
    b = again.decode(codes, np.random.default_rng(3))
    pd.testing.assert_frame_equal(a, b)


def test_missing_in_non_nullable_and_unknown_condition():
    data = table()
    disc = Discretizer.fit(data, SCHEMA)
    bad = data.copy()
    bad["k"] = bad["k"].astype(float)
    bad.loc[0, "k"] = np.nan
    with pytest.raises(ParameterError, match="nullable"):
        disc.encode(bad)
    assert disc.code_of("c", "q") == 1
    with pytest.raises(ParameterError, match="not a category"):
        disc.code_of("c", "z")
