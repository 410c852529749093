"""Samples use pandas' nullable types where the schema allows nulls, plain ones elsewhere."""
import numpy as np
import pandas as pd

from synthscape.generators import make
from synthscape.schema import TableSchema


def test_integer_and_boolean_columns_keep_their_type_with_nulls():
    rng = np.random.default_rng(0)
    n = 3000
    k = rng.integers(0, 50, n).astype(float)
    k[rng.random(n) < 0.3] = np.nan
    flag = pd.array(rng.random(n) < 0.5, dtype="boolean")
    flag[rng.random(n) < 0.3] = pd.NA
    df = pd.DataFrame({"k": k, "j": rng.integers(0, 9, n), "flag": flag})
    schema = TableSchema.from_dict({"columns": [
        {"name": "k", "kind": "numerical", "lower": 0, "upper": 50, "integer": True,
         "nullable": True},
        {"name": "j", "kind": "numerical", "lower": 0, "upper": 9, "integer": True},
        {"name": "flag", "kind": "boolean", "nullable": True}]})
    out = make("independent", epsilon=5.0, seed=0).fit(df, schema).sample(2000, seed=1)
    assert str(out["k"].dtype) == "Int64" and out["k"].isna().any()
    assert str(out["j"].dtype) == "int64"
    assert str(out["flag"].dtype) == "boolean" and out["flag"].isna().any()
