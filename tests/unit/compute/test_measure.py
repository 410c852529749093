"""Out-of-core fits from a Parquet folder equal the in-memory fit under the same secret key."""
from __future__ import annotations

import numpy as np
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


def test_cluster_fits_equal_in_memory(dataset, on_cluster):
    folder, df = dataset
    for name, kw in (("mst", {}), ("independent", {}), ("aim", {"rounds": 6, "iters": 20})):
        mem = make(name, epsilon=1.0, seed=1, bins=8, **kw).fit(df)
        ooc = make(name, epsilon=1.0, seed=1, bins=8, **kw).fit(f"{folder}/part-*.parquet")
        _same_model(mem, ooc)


def test_declared_schema_and_dp_inference(dataset, on_cluster):
    folder, df = dataset
    schema = TableSchema.infer(df, Budget(epsilon=1.0, delta=1e-6))
    assert infer_schema(folder, Budget(epsilon=1.0, delta=1e-6)).to_dict() == schema.to_dict()
    mem = make("mst", epsilon=1.0, seed=2, bins=8).fit(df, schema)
    ooc = make("mst", epsilon=1.0, seed=2, bins=8).fit(folder, schema)
    _same_model(mem, ooc)


def test_out_of_core_errors_name_the_fix(tmp_path, dataset):
    from synthscape.errors import ParameterError, SchemaError

    with pytest.raises(SchemaError, match="no Parquet file"):
        make("mst", epsilon=1.0).fit(str(tmp_path / "missing"))
    with pytest.raises(ParameterError, match="binning='uniform'"):
        make("mst", epsilon=1.0, binning="quantile").fit(str(dataset[0]))
    with pytest.raises(ParameterError, match="differentially private only"):
        infer_schema(dataset[0])
