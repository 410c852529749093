"""``execution:`` drives the kinds through synthscape.compute: with ``partitions`` the tabular,
transactions and driving kinds write their big tables as Parquet partitions from the workers
(``release/data/<table>/``), the same bytes with one or two workers, and the manifest covers
every file; without ``execution`` a run is the one-process run, file for file."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from synthscape.cli import app
from synthscape.compute.sampling import read_folder
from synthscape.io import sha256
from synthscape.testing import noise_key

pytest.importorskip("distributed")
KEY = "00112233445566778899aabbccddeeff"
ROOT = Path(__file__).resolve().parents[2]
SHARDED = {"tabular": ["synthetic"], "transactions": ["transactions", "tx_labels"],
           "driving": ["episodes", "step_labels", "trajectories"]}


@pytest.fixture(scope="module")
def schedulers():
    """Addresses of two clusters of one and two workers, started once for the module and
    reached over loopback TCP as ``--scheduler tcp://...`` (worker threads of this process:
    a cluster of worker processes, as ``--scheduler local:2`` starts, costs seconds per start;
    tests/unit/compute runs the shards on one)."""
    from distributed import LocalCluster

    clusters = [LocalCluster(n_workers=n, processes=False, threads_per_worker=1,
                             protocol="tcp://", host="127.0.0.1", dashboard_address=":0")
                for n in (1, 2)]
    yield [c.scheduler_address for c in clusters]
    for c in clusters:
        c.close()


def _spec(kind: str, tmp_path: Path, **extra) -> dict:
    if kind == "tabular":
        rng = np.random.default_rng(0)
        pd.DataFrame({"age": rng.integers(18, 90, 200), "city": rng.choice(list("abc"), 200),
                      "member": rng.random(200) < 0.3}).to_csv(tmp_path / "t.csv", index=False)
        spec = {"kind": "tabular", "seed": 3, "data": {"path": str(tmp_path / "t.csv")},
                "schema": {"columns": [
                    {"name": "age", "kind": "numerical", "lower": 18, "upper": 90,
                     "integer": True},
                    {"name": "city", "kind": "categorical", "categories": list("abc")},
                    {"name": "member", "kind": "boolean"}]},
                "generator": {"type": "independent"},
                "privacy": {"epsilon": 1.0, "delta": 1e-6}, "rows": 90,
                "evaluation": {"full": False}}
    elif kind == "transactions":
        spec = {"kind": "transactions", "seed": 5, "chunk_days": 2,
                "population": {"customers": 40, "merchants": 28, "regions": 2, "days": 4}}
    else:
        spec = yaml.safe_load((ROOT / "scenarios" / "autonomy" / "ccr_braking.yaml").read_text())
        spec.update(episodes=4, duration=1.0, render={"gif": False, "frames": 2})
    return {**spec, "name": kind, **extra}


def _run(spec: dict, folder: Path, *args: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    p = folder / "spec.yaml"
    p.write_text(yaml.safe_dump(spec, sort_keys=False))
    with noise_key(KEY):
        r = CliRunner().invoke(app, ["run", str(p), "--output", str(folder), "--quiet", *args])
    assert r.exit_code == 0, r.output
    return folder / spec["name"] / "release"


def _files(release: Path) -> dict[str, str]:
    return json.loads((release / "manifest.json").read_text())["files"]


@pytest.mark.parametrize("kind", list(SHARDED))
def test_partitions_give_the_same_bytes_with_one_or_two_workers(kind, tmp_path, schedulers):
    spec = _spec(kind, tmp_path, execution={"partitions": 2})
    here = _run(spec, tmp_path / "here")  # partitions alone: the shards in this process
    one, two = (_run(spec, tmp_path / f"w{i}", "--scheduler", a)
                for i, a in enumerate(schedulers, 1))
    assert _files(here) == _files(one) == _files(two)
    files = _files(two)
    rows = json.loads((two / "manifest.json").read_text())["rows"]
    for table in SHARDED[kind]:
        parts = sorted(p for p in files if p.startswith(f"data/{table}/"))
        assert len(parts) >= 2 and f"data/{table}.parquet" not in files
        assert all(sha256(two / p) == files[p] for p in parts)  # the manifest covers each
        assert rows[table] == len(read_folder(two / "data" / table)) > 0
        assert (two / "schemas" / f"{table}.json").exists()
    assert not list(two.parent.glob(".*tmp*"))  # written atomically: no temporary left


@pytest.mark.parametrize("kind", ["transactions", "driving"])
def test_the_simulators_shards_hold_the_rows_of_one_process(kind, tmp_path):
    plain = _run(_spec(kind, tmp_path), tmp_path / "plain")
    sharded = _run(_spec(kind, tmp_path, execution={"partitions": 2}), tmp_path / "sharded")
    for table in SHARDED[kind]:
        whole = pd.read_parquet(plain / "data" / f"{table}.parquet")
        parts = read_folder(sharded / "data" / table)
        order = ["tx_id"] if "tx_id" in whole else [c for c in ("episode", "t", "agent")
                                                      if c in whole]
        pd.testing.assert_frame_equal(
            parts.sort_values(order, kind="stable").reset_index(drop=True),
            whole.sort_values(order, kind="stable").reset_index(drop=True))
    report = json.loads((sharded / "report.json").read_text())["sections"]
    assert report == json.loads((plain / "report.json").read_text())["sections"]


def test_without_execution_a_tabular_run_is_the_one_process_sample(tmp_path):
    from synthscape.generators import make
    from synthscape.random import train_test_split
    from synthscape.schema import TableSchema
    from synthscape.tables import row_schema_of, write_table

    spec = _spec("tabular", tmp_path)
    release = _run(spec, tmp_path / "plain")
    assert sorted(p.name for p in (release / "data").iterdir()) == ["synthetic.parquet"]
    schema = TableSchema.from_dict({"columns": spec["schema"]["columns"], "name": "tabular"})
    df = schema.validate(pd.read_csv(tmp_path / "t.csv"), out_of_bounds="error")
    train, _ = train_test_split(df, 0.2, 3)
    with noise_key(KEY):
        gen = make("independent", epsilon=1.0, delta=1e-6, seed=3).fit(train, schema)
    write_table(gen.sample(90, seed=3), tmp_path / "direct.parquet",
                row_schema_of(gen.schema_, table="synthetic"), table="synthetic")
    assert (tmp_path / "direct.parquet").read_bytes() == \
        (release / "data" / "synthetic.parquet").read_bytes()
