"""A user sees only synthscape's own words: fits raise no third-party warning."""
import warnings

import numpy as np
import pandas as pd
import pytest

from synthscape.generators import make
from synthscape.schema import TableSchema

SCHEMA = TableSchema.from_dict({"columns": [
    {"name": "x", "kind": "numerical", "lower": 0, "upper": 10},
    {"name": "c", "kind": "categorical", "categories": ["a", "b", "c"]}]})


@pytest.mark.parametrize("name, kw", [
    ("dp_tvae", {"epochs": 2, "batch_size": 100, "hidden_dim": 16, "depth": 1, "device": "cpu"}),
    ("dp_ctgan", {"epochs": 1, "batch_size": 100, "noise_dim": 8, "generator_dim": 16,
                  "discriminator_dim": 16, "depth": 1, "device": "cpu"}),
    ("aim", {"rounds": 4, "iters": 20, "bins": 8}),
])
def test_fits_raise_no_third_party_warning(name, kw):
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"x": rng.uniform(0, 10, 800), "c": rng.choice(list("abc"), 800)})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        make(name, epsilon=1.0, seed=0, **kw).fit(df, SCHEMA).sample(50, seed=1)
    foreign = [f"{w.filename}:{w.lineno}: {w.message}" for w in caught
               if "synthscape" not in w.filename and "/tests/" not in w.filename]
    assert not foreign, foreign
