"""Driving episodes on shards: the rows of one process, same bytes for any number of workers."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import synthscape.compute as compute

pytest.importorskip("torch")
from synthscape.scenarios import load_spec  # noqa: E402
from synthscape.tables import conform  # noqa: E402
from synthscape_autonomy import schemas  # noqa: E402
from synthscape_autonomy.kind import episode_table  # noqa: E402
from synthscape_autonomy.rollout import simulate  # noqa: E402
from synthscape_autonomy.scenario import Scene  # noqa: E402
from synthscape_autonomy.sharded import simulate_to_parquet  # noqa: E402

HIGHWAY = Path(__file__).parents[3] / "scenarios" / "autonomy" / "highway.yaml"


def _files(folder):
    return {str(p.relative_to(folder)): p.read_bytes()
            for p in sorted(folder.rglob("*.parquet"))}


@pytest.mark.slow
def test_episode_shards_same_bytes_and_rows(tmp_path, on_cluster):
    spec = load_spec(HIGHWAY).model_copy(update={"duration": 1.0, "batch": 2})
    two = tmp_path / "two"
    summary = simulate_to_parquet(spec, two, episodes=5, shards=3, steps=True)
    compute._active = compute._LOCAL
    one = tmp_path / "one"
    assert simulate_to_parquet(spec, one, episodes=5, shards=3, steps=True) == summary
    assert _files(one) == _files(two)
    assert summary["episodes"] == 5 and len(_files(one)) == 6
    scene = Scene(spec)
    whole = episode_table(scene, simulate(scene, scene.draws(range(5))))
    want = conform(whole, schemas.json_schema("episodes"), table="episodes")
    pd.testing.assert_frame_equal(pd.read_parquet(one / "episodes"), want)
