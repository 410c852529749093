"""Every ``synthscape run`` folder of kind tabular carries the full report."""
import json

import pytest

from synthscape.scenarios.runner import run

from .conftest import draw

SPEC = """
kind: tabular
name: ev
seed: 4
data: {{path: {csv}, drop: [pid], test_fraction: 0.3}}
schema: {{file: {schema}}}
generator: {{type: gaussian_copula}}
rows: 300
evaluation:
  target: y
  sensitive: [sex]
  n_attacks: 50
  gates:
    fidelity/quality_score: {{min: 0.5}}
    privacy_attacks/mia_distance_auc: {{max: 0.01}}
    utility/not_a_score: {{min: 0}}
"""


@pytest.mark.slow
def test_run_folder_has_full_report(tmp_path, schema):
    draw(500, 9).to_csv(tmp_path / "people.csv", index=False)
    cols = [c for c in schema.columns if c.kind != "id"]
    (tmp_path / "people.schema.json").write_text(
        type(schema)(name="people", columns=cols).to_json())
    spec = tmp_path / "ev.yaml"
    spec.write_text(SPEC.format(csv="people.csv", schema="people.schema.json"))
    folder = run(spec, output=tmp_path / "out")
    report = json.loads((folder / "report.json").read_text())
    assert {"marginals", "fidelity", "utility", "privacy_attacks", "fairness"} <= \
        set(report["sections"])
    assert report["meta"]["privacy"].startswith("NOT PRIVATE")
    assert report["meta"]["rows"] == {"real_train": 350, "real_test": 150, "synthetic": 300}
    gates = {g["metric"]: g["passed"] for g in report["gates"]}
    assert gates == {"fidelity/quality_score": True, "privacy_attacks/mia_distance_auc": False,
                     "utility/not_a_score": False}
    for png in ("marginals", "correlations", "dcr", "mia_roc"):
        assert (folder / "figures" / f"{png}.png").exists()
    html = (folder / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 4 and "FAILED" in html
