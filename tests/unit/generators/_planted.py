"""Shared test data and helpers: a planted table where ``b`` copies ``a`` 90% of the time and
``x`` follows ``a``; ``d`` and ``e`` are noise."""
import numpy as np
import pandas as pd

from synthscape.schema import TableSchema
from synthscape.schema.column import Column

A = ("a0", "a1", "a2", "a3", "a4")
B = ("b0", "b1", "b2", "b3", "b4")


def make_planted(n: int = 4000, seed: int = 0) -> tuple[pd.DataFrame, TableSchema]:
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 5, n)
    b = np.where(rng.random(n) < 0.9, a, rng.integers(0, 5, n))
    x = np.clip(a * 20 + rng.normal(0, 5, n), 0, 100)
    df = pd.DataFrame({
        "a": np.array(A)[a], "b": np.array(B)[b], "x": x,
        "d": rng.random(n) < 0.3, "e": rng.choice(["u", "v", "w"], n),
    })
    schema = TableSchema(columns=(
        Column(name="a", kind="categorical", categories=A),
        Column(name="b", kind="categorical", categories=B),
        Column(name="x", kind="numerical", lower=0, upper=100),
        Column(name="d", kind="boolean"),
        Column(name="e", kind="categorical", categories=("u", "v", "w")),
    ), name="planted")
    return df, schema


def assert_reloads_identically(gen, folder, n: int = 300, seed: int = 4) -> None:
    """Saving and loading ``gen`` gives the same samples for the same seed."""
    from synthscape.generators import load

    gen.save(folder)
    pd.testing.assert_frame_equal(gen.sample(n, seed=seed), load(folder).sample(n, seed=seed))
