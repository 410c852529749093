"""Sharded sampling gives the same bytes for any number of workers."""
from __future__ import annotations

import pandas as pd
import pytest

import synthscape.compute as compute
from synthscape.compute.sampling import sample_to_parquet, shard_sizes
from synthscape.generators import make


def _bytes(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def fitted(dataset):
    return make("mst", epsilon=1.0, seed=0, bins=8).fit(dataset[1])


def test_shard_sizes_cover_n():
    assert shard_sizes(10, 4) == [3, 3, 2, 2]
    assert sum(shard_sizes(7, 7)) == 7


def test_same_bytes_on_one_two_and_four_workers(fitted, tmp_path, on_cluster):
    one = sample_to_parquet(fitted, 2001, tmp_path / "two", partitions=4, seed=5)
    compute._active = compute._LOCAL
    two = sample_to_parquet(fitted, 2001, tmp_path / "one", partitions=4, seed=5)
    from distributed import LocalCluster

    # four in-process workers, reached as an existing scheduler (the tcp:// setting)
    with LocalCluster(n_workers=4, processes=False, threads_per_worker=1, protocol="tcp://",
                      host="127.0.0.1",
                      dashboard_address=None) as four_workers:
        with compute.use(four_workers.scheduler_address) as ex:
            assert ex.workers() == 4
            four = sample_to_parquet(fitted, 2001, tmp_path / "four", partitions=4, seed=5)
    assert _bytes(one) == _bytes(two) == _bytes(four)
    assert len(_bytes(one)) == 4
    df = pd.read_parquet(one)
    assert len(df) == 2001 and list(df.columns) == fitted.schema_.names
    other = sample_to_parquet(fitted, 2001, tmp_path / "other", partitions=4, seed=6)
    assert _bytes(other) != _bytes(one)


def test_refuses_to_overwrite(fitted, tmp_path):
    from synthscape.errors import OutputExistsError

    sample_to_parquet(fitted, 10, tmp_path / "s", partitions=2)
    with pytest.raises(OutputExistsError):
        sample_to_parquet(fitted, 10, tmp_path / "s", partitions=2)


def test_progress_reports_tasks_done_of_total(fitted, tmp_path):
    seen = []
    with compute.use("local", progress=lambda label, done, total: seen.append((label, done,
                                                                               total))):
        sample_to_parquet(fitted, 30, tmp_path / "p", partitions=3)
    assert seen == [("sample", 0, 3), ("sample", 1, 3), ("sample", 2, 3), ("sample", 3, 3)]
