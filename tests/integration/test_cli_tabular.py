"""The CLI on YAML files: a full run, determinism, and every bad input of the core issue.

Each bad input gets one clear error and leaves no output folder behind.
"""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

SCHEMA = {"columns": [
    {"name": "y", "kind": "categorical", "categories": ["no", "yes"]},
    {"name": "g", "kind": "categorical", "categories": ["a", "b", "c"]},
    {"name": "x", "kind": "numerical", "lower": 0, "upper": 10},
]}


def write_data(folder: Path, n=400, **edits) -> Path:
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 10, n)
    df = pd.DataFrame({"y": np.where(x + rng.normal(0, 2, n) > 6, "yes", "no"),
                       "g": rng.choice(["a", "b", "c"], n), "x": x})
    for col, (row, value) in edits.items():
        df.loc[row, col] = value
    p = folder / "data.csv"
    df.to_csv(p, index=False)
    return p


def spec(tmp_path, **over) -> dict:
    s = {"kind": "tabular", "name": "t1", "seed": 3, "data": {"path": "data.csv"},
         "schema": {"columns": SCHEMA["columns"]}, "generator": {"type": "independent"},
         "privacy": {"epsilon": 2.0, "delta": 1e-6}, "rows": 300,
         "evaluation": {"target": "y", "gates": {"marginals/one_way_tvd_mean": {"max": 0.5}}},
         "output": str(tmp_path / "out")}
    s.update(over)
    return s


def cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "synthscape", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd)


def dump(tmp_path, s, name="s.yaml") -> Path:
    p = tmp_path / name
    p.write_text(yaml.safe_dump(s, sort_keys=False) if isinstance(s, dict) else s)
    return p


def test_run_writes_a_complete_deterministic_run_folder(tmp_path):
    write_data(tmp_path)
    p = dump(tmp_path, spec(tmp_path))
    r = cli("run", p, "-q")
    assert r.returncode == 0, r.stderr
    run = tmp_path / "out" / "t1"
    rel, internal = run / "release", run / "internal"
    assert f"release:  {rel}" in r.stdout and f"internal: {internal}" in r.stdout
    for f in ("data/synthetic.parquet", "schema.json", "ledger.json", "report.json", "report.html",
              "spec.resolved.yaml", "manifest.json"):
        assert (rel / f).exists(), f
    for f in ("README.txt", "report.json", "report.html", "manifest.json"):
        assert (internal / f).exists(), f
    ledger = json.loads((rel / "ledger.json").read_text())
    assert ledger["private"] and 0 < ledger["epsilon"] <= 2.0
    manifest = json.loads((rel / "manifest.json").read_text())
    assert manifest["rows"] == {"synthetic": 300} and manifest["seed"] == 3
    top = json.loads((run / "manifest.json").read_text())
    assert top["gates"] == {"marginals/one_way_tvd_mean": True}
    assert top["privacy"]["epsilon"] == ledger["epsilon"]
    assert pd.read_parquet(rel / "data/synthetic.parquet").shape == (300, 3)
    first = (rel / "data/synthetic.parquet").read_bytes()
    r = cli("run", p, "-q", "--overwrite")
    assert r.returncode == 0, r.stderr
    assert (rel / "data/synthetic.parquet").read_bytes() == first


def test_resolved_spec_runs_again_as_it_is(tmp_path):
    write_data(tmp_path)
    assert cli("run", dump(tmp_path, spec(tmp_path)), "-q").returncode == 0
    resolved = tmp_path / "out" / "t1" / "release" / "spec.resolved.yaml"
    text = yaml.safe_load(resolved.read_text())
    assert "schema" in text and "schema_" not in text
    assert Path(text["data"]["path"]).is_absolute()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    r = cli("run", resolved, "-q", "--output", tmp_path / "other", cwd=elsewhere)
    assert r.returncode == 0, r.stderr
    again = tmp_path / "other" / "t1" / "release"
    assert (again / "data/synthetic.parquet").read_bytes() == \
        (resolved.parent / "data/synthetic.parquet").read_bytes()


def expect_error(tmp_path, s, *needles):
    p = dump(tmp_path, s)
    r = cli("run", p, "-q")
    assert r.returncode == 2, (r.stdout, r.stderr)
    for n in needles:
        assert n in r.stderr, r.stderr
    assert not (tmp_path / "out" / "t1").exists()
    leftovers = list((tmp_path / "out").glob(".*")) if (tmp_path / "out").exists() else []
    assert leftovers == []
    return r.stderr


def test_malformed_yaml(tmp_path):
    write_data(tmp_path)
    expect_error(tmp_path, "kind: tabular\nname: [oops\n", "malformed YAML", "line")


def test_unknown_generator_gets_did_you_mean(tmp_path):
    write_data(tmp_path)
    expect_error(tmp_path, spec(tmp_path, generator={"type": "msst"}), "line", "generator",
                 "did you mean 'mst'")


def test_unknown_field_names_line_and_field(tmp_path):
    write_data(tmp_path)
    s = spec(tmp_path)
    s["privacy"]["epsilom"] = 1
    err = expect_error(tmp_path, s, "privacy.epsilom", "unknown field")
    assert "line 1" not in err.split("privacy.epsilom")[0].splitlines()[-1]


@pytest.mark.parametrize("privacy,needle", [({"epsilon": 0}, "privacy.epsilon"),
                                            ({"epsilon": -1}, "privacy.epsilon"),
                                            ({"epsilon": 1, "delta": 1.0}, "privacy.delta")])
def test_bad_budget(tmp_path, privacy, needle):
    write_data(tmp_path)
    expect_error(tmp_path, spec(tmp_path, privacy=privacy), needle)


def test_nan_in_non_nullable_column(tmp_path):
    write_data(tmp_path, x=(5, np.nan))
    expect_error(tmp_path, spec(tmp_path), "column 'x'", "non-nullable", "rows [5]")


def test_values_outside_bounds_error_by_default_and_clip_on_request(tmp_path):
    write_data(tmp_path, x=(7, 99.0))
    expect_error(tmp_path, spec(tmp_path), "outside the declared bounds", "out_of_bounds='clip'")
    s = spec(tmp_path)
    s["schema"]["out_of_bounds"] = "clip"
    r = cli("run", dump(tmp_path, s), "-q")
    assert r.returncode == 0, r.stderr


def test_unknown_category_in_conditions(tmp_path):
    write_data(tmp_path)
    expect_error(tmp_path, spec(tmp_path, conditions={"g": "z"}), "unknown value(s) ['z']")


def test_empty_table(tmp_path):
    (tmp_path / "data.csv").write_text("y,g,x\n")
    expect_error(tmp_path, spec(tmp_path), "empty")


def test_existing_output_is_refused_unless_overwrite(tmp_path):
    write_data(tmp_path)
    p = dump(tmp_path, spec(tmp_path))
    assert cli("run", p, "-q").returncode == 0
    r = cli("run", p, "-q")
    assert r.returncode == 2 and "already exists" in r.stderr and "--overwrite" in r.stderr


def test_validate_and_list(tmp_path):
    write_data(tmp_path)
    r = cli("validate", dump(tmp_path, spec(tmp_path)))
    assert r.returncode == 0 and "valid tabular scenario 't1'" in r.stdout
    r = cli("list", "generators")
    assert r.returncode == 0
    listed = {line.split()[0]: line for line in r.stdout.splitlines()}
    assert {"mst", "independent", "gaussian_copula"} <= set(listed)
    assert "not private" in listed["gaussian_copula"]


def test_non_private_baseline_says_so(tmp_path):
    write_data(tmp_path)
    s = spec(tmp_path, generator={"type": "gaussian_copula"})
    s.pop("privacy")
    r = cli("run", dump(tmp_path, s))
    assert r.returncode == 0, r.stderr
    assert "NOT PRIVATE" in r.stdout
    ledger = json.loads((tmp_path / "out/t1/release/ledger.json").read_text())
    assert ledger["private"] is False and ledger["epsilon"] is None
    report = json.loads((tmp_path / "out/t1/release/report.json").read_text())
    assert report["meta"]["privacy"].startswith("NOT PRIVATE")
