"""Tiny non-identical sites for the federation tests: site k over-represents x == k."""
import numpy as np
import pandas as pd
import pytest

from synthscape.schema import Column, TableSchema


def make_sites(k: int = 3, n: int = 600, seed: int = 0) -> list[pd.DataFrame]:
    rng = np.random.default_rng(seed)
    out = []
    for s in range(k):
        x = np.where(rng.random(n) < 0.5, s % 4, rng.integers(0, 4, n))
        y = (x + rng.integers(0, 2, n)) % 4
        z = np.clip(rng.normal(size=n) + x + 0.123456, -3, 6)
        out.append(pd.DataFrame({"x": [f"x{v}" for v in x], "y": y.astype(str), "z": z}))
    return out


@pytest.fixture
def parts() -> list[pd.DataFrame]:
    return make_sites()


@pytest.fixture
def schema() -> TableSchema:
    return TableSchema(columns=(
        Column(name="y", kind="categorical", categories=("0", "1", "2", "3")),
        Column(name="z", kind="numerical", lower=-3, upper=6)))
