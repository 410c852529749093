"""``synthscape.scenarios.run`` on packaged driving scenarios: dataset, labels, report, figures."""
import json
from pathlib import Path

import pandas as pd
import pytest
import torch

from synthscape.scenarios import load_spec, run
from synthscape_autonomy import schemas

CATALOGUE = Path(__file__).parents[2] / "scenarios" / "autonomy"


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


def _small(name, **kw):
    spec = load_spec(CATALOGUE / f"{name}.yaml")
    return spec.model_copy(update={"episodes": 6, "duration": 4.0, **kw})


def _check_tables(folder: Path):
    for table in schemas.TABLES:
        df = pd.read_parquet(folder / "release" / "data" / f"{table}.parquet")
        assert len(df) > 0
        fixed = set(schemas.columns(table))
        extra = set(df.columns) - fixed
        assert fixed <= set(df.columns)
        assert all(c.startswith("param_") for c in extra), extra


def test_run_writes_dataset_report_and_figures(tmp_path):
    folder = run(_small("pedestrian_dart_out", search=None), output=tmp_path)
    _check_tables(folder)
    rel = folder / "release"
    eps = pd.read_parquet(rel / "data" / "episodes.parquet")
    assert {"param_ego_speed", "param_ped_speed", "param_trigger_distance"} <= set(eps.columns)
    traj = pd.read_parquet(rel / "data" / "trajectories.parquet")
    assert set(traj["type"]) == {"car", "pedestrian"}
    assert len(traj) == 6 * 80 * 3
    report = json.loads((rel / "report.json").read_text())
    figs = report["sections"]["driving"]["figures"]
    assert figs and all((rel / f).exists() for f in figs)
    assert (rel / "figures" / "episode_0.gif").stat().st_size > 1000
    ledger = json.loads((rel / "ledger.json").read_text())
    assert ledger["reads_real_data"] is False and "epsilon" not in ledger
    assert "no real data" in ledger["summary"] and "no real data" in report["meta"]["privacy"]
    assert not (folder / "internal").exists()


@pytest.mark.slow
def test_same_spec_same_bytes(tmp_path):
    spec = _small("ccr_braking", episodes=4)
    a = run(spec, output=tmp_path / "a")
    b = run(spec, output=tmp_path / "b")
    ma = json.loads((a / "release" / "manifest.json").read_text())["files"]
    mb = json.loads((b / "release" / "manifest.json").read_text())["files"]
    assert ma == mb


@pytest.mark.slow
def test_augmented_run_stores_importance_weights(tmp_path):
    from synthscape_autonomy.spec import AugmentSpec

    base = load_spec(CATALOGUE / "pedestrian_dart_out.yaml")
    spec = _small("pedestrian_dart_out", episodes=30, augment=AugmentSpec(edge_share=0.3),
                  search=base.search.model_copy(update={"mc_episodes": 100, "ce_iterations": 3,
                                                        "ce_episodes": 60, "is_episodes": 60}))
    folder = run(spec, output=tmp_path)
    eps = pd.read_parquet(folder / "release" / "data" / "episodes.parquet")
    assert set(eps["source"]) == {"nominal", "edge_case"}
    assert (eps["weight"] > 0).all() and eps["weight"].std() > 0
    report = json.loads((folder / "release" / "report.json").read_text())
    assert "mixture_share_from_proposal" in report["sections"]["driving"]["scores"]
    assert "search" in report["sections"]  # the search section rides along
