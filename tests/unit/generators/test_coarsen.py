import numpy as np
import pandas as pd

from synthscape.generators._coarsen import coarsen
from synthscape.schema import TableSchema
from synthscape.schema.column import Column
from synthscape.transforms.discretizer import Discretizer


def _table(n=4000):
    rng = np.random.default_rng(0)
    x = np.clip(rng.normal(40, 8, n), 0, 100)
    df = pd.DataFrame({"x": x, "c": np.where(x > 50, "hi", "lo")})
    schema = TableSchema(columns=(Column(name="x", kind="numerical", lower=0, upper=100),
                                  Column(name="c", kind="categorical", categories=("lo", "hi"))))
    return df, schema


def test_coarsen_follows_the_noise_and_keeps_totals():
    df, schema = _table()
    disc = Discretizer.fit(df, schema, bins=32)
    codes = disc.encode(df)
    ys = [np.bincount(codes[:, j], minlength=s).astype(float) for j, s in enumerate(disc.sizes)]
    loud, c2, y2, sd = coarsen(disc, codes, ys, sigma=40.0, bins=32)
    quiet = coarsen(disc, codes, ys, sigma=0.5, bins=32)[0]
    floor = coarsen(disc, codes, ys, sigma=100.0, bins=32)[0]
    assert (loud.sizes[0], floor.sizes[0], quiet.sizes[0]) == (10, 8, 32)  # 4000 / (10 sigma)
    assert loud.sizes[1] == 2 and np.array_equal(c2[:, 1], codes[:, 1])
    assert y2[0].sum() == ys[0].sum()  # merged cells are sums of the fine ones
    cells = (sd[0] / 40.0) ** 2  # variance sigma^2 x fine cells merged
    assert np.allclose(cells, np.round(cells)) and round(cells.sum()) == 32
    assert np.array_equal(np.bincount(c2[:, 0], minlength=loud.sizes[0]), y2[0])
    back = loud.decode(c2, np.random.default_rng(0))  # values decode inside their coarse bin
    edges = loud["x"].bin_edges
    assert np.all((back["x"] >= edges[c2[:, 0]]) & (back["x"] <= edges[c2[:, 0] + 1]))
