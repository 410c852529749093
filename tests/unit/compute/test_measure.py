"""Out-of-core fits from a Parquet folder equal the in-memory fit under the same secret key."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthscape import Budget, TableSchema
from synthscape.compute.measure import infer_schema
from synthscape.compute.parquet import ParquetSource, TableDigest
from synthscape.generators import make
from synthscape.privacy.noise import data_digest


def _same_model(a, b):
    assert a.schema_.to_dict() == b.schema_.to_dict()
    assert a.ledger_.to_dict() == b.ledger_.to_dict()
    sa, arr_a = a._get_state()
    sb, arr_b = b._get_state()
    assert sa == sb
    assert arr_a.keys() == arr_b.keys()
    for k in arr_a:
        np.testing.assert_array_equal(arr_a[k], arr_b[k])
    assert a.sample(200, seed=3).equals(b.sample(200, seed=3))


def test_digest_streams_equal_the_in_memory_digest(dataset):
    folder, df = dataset
    src = ParquetSource.open(folder)
    assert len(src.files) == 3
    d = TableDigest(list(df.columns))
    for frame in src.local_frames():
        d.update(TableDigest.row_hashes(frame))
    assert d.digest() == data_digest(df)
    assert d.digest() != data_digest(df.iloc[1:])


@pytest.mark.parametrize("name", ["independent", "mst"])
def test_local_out_of_core_fit_is_the_in_memory_fit(dataset, name):
    folder, df = dataset
    mem = make(name, epsilon=1.0, seed=0, bins=8).fit(df)
    ooc = make(name, epsilon=1.0, seed=0, bins=8).fit(str(folder))
    _same_model(mem, ooc)


@pytest.mark.slow
def test_cluster_fits_equal_in_memory(dataset, on_cluster):
    folder, df = dataset
    # aim with 24 bins: its coarsening merges numerical bins after the one-way measurements
    for name, kw in (("mst", {"bins": 8}), ("independent", {"bins": 8}),
                     ("aim", {"rounds": 6, "iters": 10, "bins": 24})):
        mem = make(name, epsilon=0.6, seed=1, **kw).fit(df)
        ooc = make(name, epsilon=0.6, seed=1, **kw).fit(f"{folder}/part-*.parquet")
        _same_model(mem, ooc)
    assert mem.disc_["income"].n_values < 24  # merged bins were measured out of core too


def test_declared_schema_and_dp_inference(dataset, on_cluster):
    folder, df = dataset
    schema = TableSchema.infer(df, Budget(epsilon=1.0, delta=1e-6))
    assert infer_schema(folder, Budget(epsilon=1.0, delta=1e-6)).to_dict() == schema.to_dict()
    mem = make("mst", epsilon=1.0, seed=2, bins=8).fit(df, schema)
    ooc = make("mst", epsilon=1.0, seed=2, bins=8).fit(folder, schema)
    _same_model(mem, ooc)


def test_bin_lookup_recodes_as_coarsening_does():
    from synthscape.generators._coarsen import coarsen
    from synthscape.generators._marginal import bin_lookup
    from synthscape.schema import Column
    from synthscape.transforms.discretizer import Discretizer

    rng = np.random.default_rng(0)
    df = pd.DataFrame({"x": rng.normal(5, 2, 500).clip(0, 10), "c": rng.choice(["a", "b"], 500)})
    df.loc[::7, "x"] = np.nan
    schema = TableSchema(columns=[Column(name="x", kind="numerical", lower=0, upper=10,
                                         nullable=True),
                                  Column(name="c", kind="categorical", categories=["a", "b"])])
    fine = Discretizer.fit(df, schema, bins=32)
    codes = fine.encode(df)
    ys = [np.bincount(codes[:, j], minlength=k).astype(float) for j, k in enumerate(fine.sizes)]
    coarse, recoded, _, _ = coarsen(fine, codes, ys, sigma=5.0, bins=32)
    lookup = bin_lookup(fine, coarse)
    assert lookup[0] is not None and coarse.sizes[0] < fine.sizes[0] and lookup[1] is None
    np.testing.assert_array_equal(lookup[0][codes[:, 0]], recoded[:, 0])


def test_out_of_core_errors_name_the_fix(tmp_path, dataset):
    from synthscape.errors import ParameterError, SchemaError

    with pytest.raises(SchemaError, match="no Parquet file"):
        make("mst", epsilon=1.0).fit(str(tmp_path / "missing"))
    with pytest.raises(ParameterError, match="binning='uniform'"):
        make("mst", epsilon=1.0, binning="quantile").fit(str(dataset[0]))
    with pytest.raises(ParameterError, match="differentially private only"):
        infer_schema(dataset[0])
