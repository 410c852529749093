"""The defaults rule of the neural generators, the quantile encoding and the one-way
calibration of their samples."""
import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from synthscape.generators._calibrate import MarginalCalibration
from synthscape.generators._defaults import MAX_BATCH, MAX_STEPS, MIN_BATCH, training_plan
from synthscape.privacy import Budget, PrivacyLedger
from synthscape.schema import TableSchema
from synthscape.schema.column import Column
from synthscape.transforms.tabular_encoder import TabularEncoder

SCHEMA = TableSchema(columns=(
    Column(name="x", kind="numerical", lower=0, upper=100, nullable=True),
    Column(name="k", kind="numerical", lower=0, upper=10, integer=True),
    Column(name="c", kind="categorical", categories=("u", "v", "w")),
))


def _frame(n=4000, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.gamma(2.0, 3.0, n).clip(0, 100)  # crowded near the lower bound
    x[rng.random(n) < 0.1] = np.nan
    return SCHEMA.validate(pd.DataFrame({
        "x": x, "k": rng.integers(0, 4, n).astype(float),
        "c": rng.choice(["u", "v", "w"], n, p=[0.7, 0.2, 0.1])}))


@given(st.integers(1, 10_000_000))
def test_plan_bounds(n):
    p = training_plan(n)
    assert MIN_BATCH <= p["batch_size"] or p["batch_size"] == n
    assert p["batch_size"] <= min(MAX_BATCH, n) and p["steps"] <= MAX_STEPS
    assert p["epochs"] * n >= p["steps"] * p["batch_size"]  # the epochs cover the steps


def test_quantile_encoding_spreads_a_crowded_column_and_inverts():
    df = _frame()
    led = PrivacyLedger(Budget(epsilon=50.0, delta=1e-6))
    enc = TabularEncoder(SCHEMA, numerical="quantile", all_columns=True)
    enc.fit(df, ledger=led, noise_multiplier=TabularEncoder.calibrate(led, 0.5))
    assert [e.label for e in led.events] == ["encoder histograms"]  # one release for all
    z = enc.transform(df)
    v = z[~df["x"].isna().to_numpy(), 0]
    q25, q50, q75 = np.quantile(v, [0.25, 0.5, 0.75])  # about uniform on [-1, 1]; min-max
    assert q25 < -0.3 and abs(q50) < 0.2 and q75 > 0.3  # scaling piles them in [-1, -0.6]
    back = enc.inverse(z)
    x = df["x"].to_numpy(float)
    ok = ~np.isnan(x)
    assert np.nanmax(np.abs(back["x"].to_numpy(float)[ok] - x[ok])) < 5.0 + 1e-9  # one bin
    again = TabularEncoder.from_state(SCHEMA, enc.get_state())
    assert np.allclose(again.transform(df), z)


def _exact_calibration() -> MarginalCalibration:
    enc = TabularEncoder(SCHEMA, numerical="quantile", all_columns=True)
    enc.fit(_frame(), ledger=PrivacyLedger(None))  # exact counts: targets are the real ones
    return MarginalCalibration.from_encoder(enc)


def test_calibration_brings_marginals_to_the_targets():
    cal = _exact_calibration()
    rng = np.random.default_rng(1)
    skewed = _frame(16_000, seed=2)
    skewed["c"] = rng.choice(["u", "v", "w"], len(skewed), p=[0.2, 0.3, 0.5])
    out = cal.resample(skewed, 4000, rng)
    share = out["c"].value_counts(normalize=True)
    assert share["u"] == pytest.approx(0.7, abs=0.03) and share["w"] == pytest.approx(0.1,
                                                                                      abs=0.03)
    assert out["x"].isna().mean() == pytest.approx(0.1, abs=0.03)
    again = MarginalCalibration.from_state(*cal.get_state())
    assert all(np.array_equal(a, b) for a, b in zip(again.targets, cal.targets))


def test_quantile_map_reaches_bins_the_generator_never_emits_and_keeps_the_order():
    cal = _exact_calibration()
    rng = np.random.default_rng(3)
    collapsed = _frame(8000, seed=4)
    collapsed["x"] = np.where(collapsed["x"].isna(), np.nan, rng.uniform(60, 61, len(collapsed)))
    raked_only = MarginalCalibration(cal.disc, cal.targets, cal.integer, map_numerical=False)
    before = raked_only.resample(collapsed, 4000, np.random.default_rng(5))
    after = cal.resample(collapsed, 4000, np.random.default_rng(5))
    edges = cal.disc.columns[0].bin_edges
    target = cal.targets[0][:-1] / cal.targets[0][:-1].sum()

    def tvd(frame):
        x = frame["x"].dropna().to_numpy(float)
        h = np.histogram(x, bins=edges)[0] / len(x)
        return 0.5 * np.abs(h - target).sum()

    assert tvd(before) > 0.8 and tvd(after) < 0.02  # raking cannot move mass; the map does
    ok = before["x"].notna().to_numpy()
    assert np.array_equal(ok, after["x"].notna().to_numpy())  # missing cells stay missing
    assert np.all(np.diff(after["x"].to_numpy(float)[ok][np.argsort(
        before["x"].to_numpy(float)[ok], kind="stable")]) >= 0)  # order kept
    k = after["k"].to_numpy(float)
    assert np.array_equal(k, np.round(k)) and k.min() >= 0 and k.max() <= 10  # integers stay
    codes = cal.disc.encode(after)[:, 1]  # an integer column stays on its target's integers
    h = np.bincount(codes, minlength=len(cal.targets[1])) / len(codes)
    assert 0.5 * np.abs(h - cal.targets[1]).sum() < 0.03


def test_quantile_map_keeps_integers_in_their_bins():
    from synthscape.transforms.discretizer import ColumnBins, Discretizer

    edges = np.arange(21.0)  # bins of width one: integer k sits on bin k's left edge
    target = np.zeros(20)
    target[[12, 16]] = [0.7, 0.3]
    cal = MarginalCalibration(Discretizer([ColumnBins("e", "numerical", False, edges=edges)]),
                              [target], integer=("e",))
    out = cal.quantile_map(pd.DataFrame({"e": np.linspace(0, 20, 1000)}),
                           np.random.default_rng(0))
    share = out["e"].value_counts(normalize=True)
    assert set(share.index) == {12.0, 16.0} and share[12.0] == pytest.approx(0.7, abs=0.01)
