"""A small table whose columns all depend on one another through ``g`` (for the deep
generators' learning tests): the `independent` baseline scores badly on its two-way marginals."""
import numpy as np
import pandas as pd

from synthscape.schema import TableSchema
from synthscape.schema.column import Column


def make_dependent(n: int = 2000, seed: int = 0) -> tuple[pd.DataFrame, TableSchema]:
    rng = np.random.default_rng(seed)
    g = rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2])
    mu = np.select([g == "a", g == "b"], [20.0, 50.0], 80.0)
    x = np.clip(mu + rng.normal(0, 6, n), 0, 100)
    flag = rng.random(n) < np.select([g == "a", g == "b"], [0.1, 0.5], 0.9)
    y = np.clip(x + rng.normal(0, 8, n), 0, 100)
    df = pd.DataFrame({"g": g, "x": x, "flag": flag, "y": y})
    schema = TableSchema(columns=(
        Column(name="g", kind="categorical", categories=("a", "b", "c")),
        Column(name="x", kind="numerical", lower=0, upper=100),
        Column(name="flag", kind="boolean"),
        Column(name="y", kind="numerical", lower=0, upper=100),
    ), name="dependent")
    return df, schema


def first_rows(table: tuple[pd.DataFrame, TableSchema], n: int = 600):
    """The first ``n`` rows of a (frame, schema) pair, for quick fits."""
    df, schema = table
    return df.iloc[:n].reset_index(drop=True), schema
