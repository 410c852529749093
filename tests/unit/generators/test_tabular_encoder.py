"""The schema-driven encoder of the neural generators: reversibility, DP statistics, state."""
import numpy as np
import pandas as pd
import pytest

from synthscape.errors import ParameterError
from synthscape.privacy import Budget, GaussianEvent, PrivacyLedger
from synthscape.schema import TableSchema
from synthscape.schema.column import Column
from synthscape.transforms.tabular_encoder import TabularEncoder

SCHEMA = TableSchema(columns=(
    Column(name="id", kind="id"),
    Column(name="c", kind="categorical", categories=("u", "v", "w"), nullable=True),
    Column(name="b", kind="boolean"),
    Column(name="x", kind="numerical", lower=0, upper=100, nullable=True),
    Column(name="t", kind="datetime", lower="2020-01-01", upper="2021-01-01"),
))


def _frame(n=3000, seed=0):
    rng = np.random.default_rng(seed)
    x = np.where(rng.random(n) < 0.5, rng.normal(20, 3, n), rng.normal(75, 4, n)).clip(0, 100)
    x[rng.random(n) < 0.1] = np.nan
    c = rng.choice(np.array(["u", "v", "w", None], dtype=object), n, p=[0.6, 0.25, 0.1, 0.05])
    t = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 360, n), unit="D")
    df = pd.DataFrame({"id": np.arange(n).astype(str), "c": c, "b": rng.random(n) < 0.3,
                       "x": x, "t": t})
    return SCHEMA.validate(df)


def _ledger(eps=50.0):
    return PrivacyLedger(Budget(epsilon=eps, delta=1e-6))


def test_minmax_is_reversible_and_free():
    df = _frame()
    led = _ledger()
    enc = TabularEncoder(SCHEMA).fit(df, ledger=led)
    assert led.events == () and not enc.needs_budget
    x = enc.transform(df)
    assert x.shape == (len(df), enc.output_dim) and np.abs(x).max() <= 1
    back = enc.inverse(x)
    np.testing.assert_allclose(back["x"], df["x"], rtol=1e-5, atol=1e-3)  # NaN kept in place
    seconds = (df["t"] - pd.Timestamp(0)).dt.total_seconds()
    np.testing.assert_allclose(back["t"], seconds, rtol=1e-6)
    assert back["c"].tolist() == [None if v is None else v for v in df["c"]]
    assert (back["b"].astype(bool) == df["b"]).all()
    assert [s.role for s in enc.spans] == ["category", "category", "value", "null", "value"]


def test_modes_and_frequencies_cost_one_gaussian_release():
    df = _frame()
    led = _ledger()
    enc = TabularEncoder(SCHEMA, numerical="modes", n_modes=4, frequencies=True)
    sigma = enc.calibrate(led, 0.1)
    enc.fit(df, ledger=led, noise_multiplier=sigma)
    (event,) = led.events
    assert isinstance(event, GaussianEvent) and event.noise_multiplier == sigma
    assert 0.09 * 50 < led.epsilon <= 0.1 * 50 * (1 + 1e-9)
    means = sorted(m for m, _ in enc.modes_["x"])
    assert any(abs(m - 20) < 4 for m in means) and any(abs(m - 75) < 4 for m in means)
    f = enc.freqs_["c"]
    assert f.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(f, [0.6, 0.25, 0.1, 0.05], atol=0.03)
    back = enc.inverse(enc.transform(df))
    ok = ~df["x"].isna()
    assert np.abs(back["x"][ok] - df["x"][ok]).max() < 1e-3  # all within 4 sigma of a mode


@pytest.mark.parametrize("numerical, frequencies, released", [
    ("minmax", True, ["c", "b"]),
    ("modes", False, ["x", "t"]),
    ("modes", True, ["c", "b", "x", "t"]),
])
def test_only_the_histograms_in_use_are_released(monkeypatch, numerical, frequencies, released):
    import synthscape.transforms.tabular_encoder as te

    seen = {}
    real = te.gaussian_mechanism

    def spy(values, *, sensitivity, **kw):
        seen["sensitivity"], seen["size"] = sensitivity, len(values)
        return real(values, sensitivity=sensitivity, **kw)

    monkeypatch.setattr(te, "gaussian_mechanism", spy)
    enc = TabularEncoder(SCHEMA, numerical=numerical, frequencies=frequencies)
    enc.fit(_frame(), ledger=_ledger(), noise_multiplier=5.0)
    # one count per record per released column: L2 sensitivity sqrt(#columns)
    assert seen["sensitivity"] == pytest.approx(np.sqrt(len(released)))
    sizes = {"c": 4, "b": 2, "x": te._HIST_BINS + 1, "t": te._HIST_BINS + 1}
    assert seen["size"] == sum(sizes[c] for c in released)
    assert sorted(enc.freqs_) == sorted(c for c in released if c in ("c", "b"))


def test_state_round_trip_gives_the_same_encoding():
    df = _frame(500)
    led = _ledger()
    enc = TabularEncoder(SCHEMA, numerical="modes", frequencies=True)
    enc.fit(df, ledger=led, noise_multiplier=2.0)
    again = TabularEncoder.from_state(SCHEMA, enc.get_state())
    np.testing.assert_array_equal(enc.transform(df), again.transform(df))
    assert again.spans == enc.spans


def test_non_private_ledger_uses_exact_counts():
    df = _frame(400)
    enc = TabularEncoder(SCHEMA, frequencies=True).fit(df, ledger=PrivacyLedger(None))
    counts = df["b"].value_counts()
    assert enc.freqs_["b"][1] == pytest.approx(counts[True] / 400, abs=1e-5)


def test_errors_name_the_problem():
    with pytest.raises(ParameterError, match="numerical"):
        TabularEncoder(SCHEMA, numerical="ranks")
    with pytest.raises(ParameterError, match="n_modes"):
        TabularEncoder(SCHEMA, n_modes=0)
    enc = TabularEncoder(SCHEMA, frequencies=True)
    with pytest.raises(ParameterError, match="noise_multiplier"):
        enc.fit(_frame(50), ledger=_ledger())
    strict = TableSchema(columns=(Column(name="c", kind="categorical", categories=("u",)),))
    bad = pd.DataFrame({"c": ["u", None]})
    with pytest.raises(ParameterError, match="not nullable"):
        TabularEncoder(strict).fit(bad, ledger=_ledger())\
            .transform(bad)
