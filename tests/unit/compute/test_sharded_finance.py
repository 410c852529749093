"""Finance on shards: the rows of one process, cross-shard transfers kept, same bytes for any
number of workers."""
from __future__ import annotations

import pandas as pd
import pytest

import synthscape.compute as compute

pytest.importorskip("synthscape_finance")
from synthscape_finance.sharded import simulate_to_parquet  # noqa: E402
from synthscape_finance.simulator import Simulation  # noqa: E402
from synthscape_finance.spec import TransactionsSpec  # noqa: E402


def _files(folder):
    return {str(p.relative_to(folder)): p.read_bytes()
            for p in sorted(folder.rglob("*.parquet"))}


@pytest.fixture(scope="module")
def spec():
    return TransactionsSpec(population={"customers": 150, "days": 6}, chunk_days=2, seed=4)


def test_sharded_rows_are_the_simulators_rows(spec, tmp_path, on_cluster):
    two = tmp_path / "two"
    summary = simulate_to_parquet(spec, two, shards=3)
    compute._active = compute._LOCAL
    one = tmp_path / "one"
    assert simulate_to_parquet(spec, one, shards=3) == summary
    assert _files(one) == _files(two)
    assert len(list((one / "transactions").iterdir())) == 3 * summary["chunks"]
    assert summary["cross_shard_transfers"] > 0

    whole = Simulation(spec).run_in_memory()
    for name in ("transactions", "tx_labels"):
        got = pd.read_parquet(one / name).sort_values("tx_id", ignore_index=True)
        want = whole[name].sort_values("tx_id", ignore_index=True)
        pd.testing.assert_frame_equal(got, want, check_dtype=False, check_categorical=False)
    for name in ("accounts", "customers"):
        pd.testing.assert_frame_equal(pd.read_parquet(one / f"{name}.parquet"), whole[name],
                                      check_dtype=False, check_categorical=False)


def test_write_tasks_give_the_same_bytes_whether_a_chunk_was_kept_or_drawn_again(
        spec, tmp_path, monkeypatch):
    from synthscape_finance import sharded

    kept = tmp_path / "kept"
    simulate_to_parquet(spec, kept, shards=2)
    monkeypatch.setattr(sharded, "_KEEP_BYTES", 0)  # nothing kept: every write draws again
    sharded._DRAWN.clear()
    drawn = tmp_path / "drawn"
    simulate_to_parquet(spec, drawn, shards=2)
    assert not sharded._DRAWN
    assert _files(kept) == _files(drawn)


def test_a_task_names_its_worker_and_work_can_be_sent_near_it(on_cluster):
    assert compute.worker_address() is None  # the client is no worker
    addresses = set(on_cluster.client().scheduler_info()["workers"])
    seen = list(compute.run_tasks(_address, [0, 1, 2, 3], label="addresses"))
    assert set(seen) <= addresses and None not in seen
    for a in seen:
        assert compute.submit(_address, 0, near=a).result() == a  # both workers are idle


def _address(_):
    return compute.worker_address()
