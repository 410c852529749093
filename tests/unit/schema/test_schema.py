import warnings

import numpy as np
import pandas as pd
import pytest

from synthscape import Budget, Column, TableSchema
from synthscape.errors import SchemaError
from synthscape.schema import PrivateDataWarning

SCHEMA = TableSchema(columns=(
    Column(name="age", kind="numerical", lower=0, upper=120, integer=True),
    Column(name="sex", kind="categorical", categories=("F", "M")),
    Column(name="smoker", kind="boolean"),
    Column(name="seen", kind="datetime", lower="2020-01-01", upper="2021-01-01", nullable=True),
    Column(name="pid", kind="id"),
))


def frame(n=5):
    return pd.DataFrame({"age": [30, 40, 50, 60, 70][:n], "sex": ["F", "M", "F", "M", "F"][:n],
                         "smoker": [True, False, True, False, True][:n],
                         "seen": pd.to_datetime(["2020-02-01"] * n), "pid": list(range(n))})


def test_valid_frame_passes_and_keeps_schema_order():
    out = SCHEMA.validate(frame()[["pid", "sex", "age", "smoker", "seen"]])
    assert list(out.columns) == SCHEMA.names


def test_validate_collects_every_problem_once():
    df = frame()
    df.loc[1, "age"] = 150
    df.loc[2, "age"] = np.nan
    df.loc[3, "sex"] = "X"
    df["extra"] = 1
    with pytest.raises(SchemaError) as info:
        SCHEMA.validate(df.drop(columns=["smoker"]))
    msg = str(info.value)
    assert len(info.value.problems) == 5
    for needle in ("missing column(s) ['smoker']", "'extra'", "outside the declared bounds",
                   "non-nullable", "not among the declared categories", "rows [1]", "rows [3]"):
        assert needle in msg


def test_out_of_bounds_clip_warns_and_clips():
    df = frame()
    df.loc[0, "age"] = -5
    with pytest.warns(UserWarning, match="clipped"):
        out = SCHEMA.validate(df, out_of_bounds="clip")
    assert out["age"].min() == 0


def test_empty_table_is_rejected():
    with pytest.raises(SchemaError, match="empty"):
        SCHEMA.validate(frame().iloc[:0])


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_round_trip(tmp_path, fmt):
    path = tmp_path / f"s.{fmt}"
    getattr(SCHEMA, f"to_{fmt}")(path)
    back = getattr(TableSchema, f"from_{fmt}")(path)
    assert back == SCHEMA


@pytest.mark.parametrize("col,match", [
    (dict(name="x", kind="numerical", lower=1), "needs both"),
    (dict(name="x", kind="numerical", lower=2, upper=1), "lower < upper"),
    (dict(name="x", kind="categorical"), "non-empty 'categories'"),
    (dict(name="x", kind="boolean", categories=("a",)), "categorical columns only"),
])
def test_bad_columns_are_explained(col, match):
    with pytest.raises(SchemaError, match=match):
        TableSchema.from_dict({"columns": [col]}, source="s.yaml")


def test_free_inference_warns_loudly():
    with pytest.warns(PrivateDataWarning, match="without differential privacy"):
        s = TableSchema.infer(frame())
    assert s["sex"].categories == ("F", "M")


def test_dp_inference_spends_from_the_ledger_and_stays_within_budget():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"x": rng.normal(100, 10, 5000),
                       "c": rng.choice(["a", "b", "rare"], 5000, p=[0.6, 0.3999, 0.0001])})
    with warnings.catch_warnings():
        warnings.simplefilter("error", PrivateDataWarning)
        s = TableSchema.infer(df, budget=Budget(epsilon=1.0, delta=1e-6), seed=0)
    led = s.inference_ledger
    assert 0 < led.epsilon <= 1.0
    assert {e.label for e in led.events} == {"bounds:x", "categories:c"}
    lo, hi = s["x"].bounds
    assert 40 < lo < 90 and 110 < hi < 160
    assert set(s["c"].categories) == {"a", "b"}  # a category held by ~1 row is not released
    again = TableSchema.infer(df, budget=Budget(epsilon=1.0, delta=1e-6), seed=0)
    assert again.columns == s.columns


def test_dp_bounds_cover_recent_datetimes():
    # epoch seconds after 2001 exceed 1e9: the DP grid reaches 1e11 s, so they keep their range
    import numpy as np
    import pandas as pd

    from synthscape.privacy import Budget

    rng = np.random.default_rng(0)
    t = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 4 * 365, 20_000), unit="D")
    schema = TableSchema.infer(pd.DataFrame({"t": t}), Budget(epsilon=2.0, delta=1e-6))
    lo, hi = (pd.Timestamp(schema["t"].lower), pd.Timestamp(schema["t"].upper))
    assert pd.Timestamp("2015-01-01") < lo <= pd.Timestamp("2020-01-01")
    assert pd.Timestamp("2023-12-31") <= hi < pd.Timestamp("2030-01-01")
    assert schema.provenance == "dp" and schema.inference_ledger.epsilon <= 2.0
