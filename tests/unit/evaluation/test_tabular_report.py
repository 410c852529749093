"""Every ``synthscape run`` folder of kind tabular carries the full evaluation in internal/ and a
release report computed from the synthetic data only."""
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
    internal = folder / "internal"
    report = json.loads((internal / "report.json").read_text())
    assert next(iter(report)) == "notice" and "NOT COVERED" in report["notice"]
    assert {"marginals", "fidelity", "utility", "privacy_attacks", "fairness"} <= \
        set(report["sections"])
    assert report["meta"]["privacy"].startswith("release: NOT PRIVATE")
    rows = report["meta"]["rows"]  # the split is row by row (binomial sizes)
    assert rows["real_train"] + rows["real_test"] == 500 and rows["synthetic"] == 300
    assert 100 < rows["real_test"] < 200
    gates = {g["metric"]: g["passed"] for g in report["gates"]}
    assert gates == {"fidelity/quality_score": True, "privacy_attacks/mia_distance_auc": False}
    assert json.loads((folder / "manifest.json").read_text())["gates"] == gates
    for png in ("marginals", "correlations", "dcr", "mia_roc"):
        assert (internal / "figures" / f"{png}.png").exists()
    html = (internal / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 4 and "FAILED" in html
    assert "class='notice'" in html

    release = json.loads((folder / "release" / "report.json").read_text())
    assert set(release["sections"]) == {"release", "table_synthetic"}
    assert "gates" not in release and "passed" not in release
    assert release["meta"]["privacy"].startswith("NOT PRIVATE")
    columns = {r["column"]: r for r in release["sections"]["table_synthetic"]["tables"]["columns"]}
    assert set(columns) == {c.name for c in cols}
    assert columns["sex"]["kind"] == "categorical" and columns["age"]["mean"] is not None
    assert (folder / "release" / "figures" / "marginals_synthetic.png").exists()


DP_SPEC = """
kind: tabular
name: evdp
seed: 1
data: {path: people.csv, drop: [pid], test_fraction: 0.3}
schema: {infer: dp}
generator: {type: mst}
privacy: {epsilon: 4.0}
rows: 300
evaluation: {target: y, n_attacks: 50}
"""


@pytest.mark.slow
def test_dp_inferred_schema_run_is_evaluated(tmp_path):
    df = draw(3000, 5)
    df.loc[:2, "region"] = "islands"  # too rare for the DP schema to release
    df.to_csv(tmp_path / "people.csv", index=False)
    (tmp_path / "evdp.yaml").write_text(DP_SPEC)
    folder = run(tmp_path / "evdp.yaml", output=tmp_path / "out")
    schema = json.loads((folder / "release" / "schema.json").read_text())
    region = next(c for c in schema["columns"] if c["name"] == "region")
    assert "islands" not in region["categories"]  # so those rows must be left out, not fail
    report = json.loads((folder / "internal" / "report.json").read_text())
    assert report["meta"]["privacy"].startswith("release: epsilon = ")
    assert report["meta"]["epsilon"] <= 4.0 + 1e-9
    assert "utility" in report["sections"] and "privacy_attacks" in report["sections"]
    release = json.loads((folder / "release" / "report.json").read_text())
    assert release["sections"]["release"]["scores"]["epsilon"] <= 4.0 + 1e-9
    notes = release["sections"]["table_synthetic"]["notes"]
    assert any("under differential privacy" in n for n in notes)
