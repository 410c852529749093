"""Sharded sampling of dp_sequence: entity shards seeded from (public seed, shard index), keys
numbered over the whole output, the same bytes on one process and on two workers."""
from __future__ import annotations

import pandas as pd
import pytest

import synthscape.compute as compute
from synthscape.compute.sampling import shard_seed
from synthscape.compute.sequences import PURPOSE, sample_sequences_to_parquet
from synthscape.errors import ParameterError
from synthscape.generators import make
from synthscape.testing import sequence_conformance_data

pytest.importorskip("torch")
SMALL = {"epochs": 1, "batch_size": 64, "width": 8, "bins": 8, "device": "cpu"}


def _bytes(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*.parquet"))}


@pytest.fixture(scope="module")
def fitted():
    evs, ents, schema = sequence_conformance_data(120, seed=2)
    return make("dp_sequence", epsilon=2.0, schema=schema, seed=1, **SMALL).fit(
        evs, ents, entity_key="cid", time_key="ts")


def test_same_bytes_on_one_process_and_two_workers(fitted, tmp_path, on_cluster):
    two = sample_sequences_to_parquet(fitted, 41, tmp_path / "two", partitions=3, seed=7)
    compute._active = compute._LOCAL
    one = sample_sequences_to_parquet(fitted, 41, tmp_path / "one", partitions=3, seed=7)
    assert _bytes(one) == _bytes(two)
    assert sorted(_bytes(one)) == [f"{t}/part-0000{i}.parquet" for t in ("entities", "events")
                                   for i in range(3)]


def test_shards_are_the_generators_samples_with_global_keys(fitted, tmp_path):
    out = sample_sequences_to_parquet(fitted, 41, tmp_path / "s", partitions=3, seed=7)
    ents = pd.concat([pd.read_parquet(p) for p in sorted((out / "entities").iterdir())],
                     ignore_index=True)
    evs = pd.concat([pd.read_parquet(p) for p in sorted((out / "events").iterdir())],
                    ignore_index=True)
    assert ents["cid"].tolist() == [f"E{i:06d}" for i in range(41)]
    assert set(evs["cid"]) <= set(ents["cid"]) and len(evs) > 0
    # shard 1 (entities 14..27) is the generator's own sample under the shard's seed
    e1, v1 = fitted.sample(14, seed=shard_seed(7, 1, PURPOSE))
    mine = pd.read_parquet(out / "entities" / "part-00001.parquet")
    assert mine["cid"].iloc[0] == "E000014"
    pd.testing.assert_frame_equal(mine.drop(columns="cid"), e1.drop(columns="cid"),
                                  check_dtype=False)
    got = pd.read_parquet(out / "events" / "part-00001.parquet")
    assert got["cid"].map(lambda k: int(k[1:]) - 14).tolist() == \
        v1["cid"].map(lambda k: int(k[1:])).tolist()
    pd.testing.assert_frame_equal(got.drop(columns="cid"), v1.drop(columns="cid"),
                                  check_dtype=False)


def test_bad_arguments_are_refused_before_anything_is_written(fitted, tmp_path):
    with pytest.raises(ParameterError, match="partitions must be an int >= 1"):
        sample_sequences_to_parquet(fitted, 10, tmp_path / "x", partitions=0)
    with pytest.raises(ParameterError, match="n must be an int >= 0"):
        sample_sequences_to_parquet(fitted, -1, tmp_path / "x")
    assert not (tmp_path / "x").exists()
