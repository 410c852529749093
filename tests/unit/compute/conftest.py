"""One LocalCluster (2 worker processes, loopback) for the compute tests, and a tiny Parquet
dataset split into several files and row groups."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


@pytest.fixture(scope="session")
def cluster():
    """``local:2`` active for the test that asks for it; the cluster is kept for the session."""
    pytest.importorskip("distributed")
    import synthscape.compute as compute

    ex = compute.use("local:2")
    ex.client()
    compute._active = compute._LOCAL  # started once; tests activate it with ``activate``
    yield ex
    ex.close()


@pytest.fixture
def on_cluster(cluster):
    import synthscape.compute as compute

    compute._active = cluster
    yield cluster
    compute._active = compute._LOCAL


def table(n: int = 3000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 90, n)
    city = rng.choice(["paris", "lyon", "nice", "lille"], n, p=[0.4, 0.3, 0.2, 0.1])
    df = pd.DataFrame({
        "age": age,
        "income": np.round(age * 900 + rng.normal(0, 8000, n), 2),
        "city": pd.Series(city, dtype="str"),
        "member": rng.random(n) < 0.3 + 0.004 * age,
        "since": pd.to_datetime(rng.integers(1.3e9, 1.7e9, n), unit="s"),
    })
    df.loc[rng.random(n) < 0.05, "city"] = None
    return df


@pytest.fixture(scope="session")
def dataset(tmp_path_factory):
    """``(folder, frame)``: three files, the last with two row groups."""
    folder = tmp_path_factory.mktemp("ds")
    df = table()
    cuts = [0, 1000, 1700, len(df)]
    for i, (a, b) in enumerate(zip(cuts, cuts[1:])):
        df.iloc[a:b].to_parquet(folder / f"part-{i:02d}.parquet", index=False,
                                row_group_size=700)
    return folder, pd.read_parquet(folder)
