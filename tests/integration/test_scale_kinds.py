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


@pytest.fixture(scope="module")
def runs(tmp_path_factory, schedulers):
    """``runs(kind, how)``: the release folder of the kind's small spec run once per module,
    ``how`` one of "plain" (no execution), "here" (partitions, in this process), "one" and
    "two" (partitions, --scheduler on the one- and two-worker cluster)."""
    done: dict[tuple[str, str], Path] = {}
    shared = tmp_path_factory.mktemp("data")  # the tabular input: one path in every spec

    def get(kind: str, how: str) -> Path:
        if (kind, how) not in done:
            root = tmp_path_factory.mktemp(f"{kind}-{how}")
            spec = _spec(kind, shared, **({} if how == "plain" else
                                           {"execution": {"partitions": 2}}))
            args = {"one": ["--scheduler", schedulers[0]],
                    "two": ["--scheduler", schedulers[1]]}.get(how, [])
            done[kind, how] = _run(spec, root, *args)
        return done[kind, how]
    return get


def _files(release: Path) -> dict[str, str]:
    return json.loads((release / "manifest.json").read_text())["files"]


@pytest.mark.parametrize("kind", list(SHARDED))
def test_partitions_give_the_same_bytes_with_one_or_two_workers(kind, runs):
    here, one, two = (runs(kind, how) for how in ("here", "one", "two"))
    assert _files(here) == _files(one) == _files(two)
    files = _files(two)
    rows = json.loads((two / "manifest.json").read_text())["rows"]
    for table in SHARDED[kind]:
        parts = sorted(p for p in files if p.startswith(f"data/{table}/"))
        assert len(parts) >= 2 and f"data/{table}.parquet" not in files
        assert all(sha256(two / p) == files[p] for p in parts)  # the manifest covers each
        assert rows[table] == len(read_folder(two / "data" / table)) > 0
        assert (two / "schemas" / f"{table}.json").exists()
    assert not list(two.parent.parent.glob(".*tmp*"))  # written atomically: no temporary left


@pytest.mark.parametrize("kind", ["transactions", "driving"])
def test_the_simulators_shards_hold_the_rows_of_one_process(kind, runs):
    plain, sharded = runs(kind, "plain"), runs(kind, "here")
    assert not [p for p in (plain / "data").iterdir() if p.is_dir()]
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


def test_without_execution_a_tabular_run_is_the_one_process_sample(runs):
    from synthscape.generators import make
    from synthscape.random import train_test_split
    from synthscape.schema import TableSchema
    from synthscape.tables import row_schema_of, write_table

    release = runs("tabular", "plain")
    root = release.parent.parent
    spec = yaml.safe_load((release / "spec.resolved.yaml").read_text())
    assert sorted(p.name for p in (release / "data").iterdir()) == ["synthetic.parquet"]
    schema = TableSchema.from_dict({"columns": spec["schema"]["columns"], "name": "tabular"})
    df = schema.validate(pd.read_csv(spec["data"]["path"]), out_of_bounds="error")
    train, _ = train_test_split(df, 0.2, 3)
    with noise_key(KEY):
        gen = make("independent", epsilon=1.0, delta=1e-6, seed=3).fit(train, schema)
    write_table(gen.sample(90, seed=3), root / "direct.parquet",
                row_schema_of(gen.schema_, table="synthetic"), table="synthetic")
    assert (root / "direct.parquet").read_bytes() == \
        (release / "data" / "synthetic.parquet").read_bytes()


def test_without_execution_a_transactions_run_is_the_one_process_stream(runs, tmp_path):
    from synthscape.scenarios import parse_spec
    from synthscape_finance.simulator import Simulation
    from synthscape_finance.stream import stream

    release = runs("transactions", "plain")
    spec = _spec("transactions", tmp_path)
    stream(Simulation(parse_spec(yaml.safe_dump(spec))), tmp_path / "direct")
    for table in SHARDED["transactions"]:
        assert (tmp_path / "direct" / f"{table}.parquet").read_bytes() == \
            (release / "data" / f"{table}.parquet").read_bytes()
