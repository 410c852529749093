import json
import math

import pandas as pd
import pytest

from synthscape.errors import ParameterError, SchemaError
from synthscape.evaluation import evaluate
from synthscape.evaluation.api import privacy_summary
from synthscape.privacy import Budget, GaussianEvent, PrivacyLedger


@pytest.fixture(scope="module")
def report(train, test_df, fresh, schema, tmp_path_factory):
    folder = tmp_path_factory.mktemp("run")
    rep = evaluate(train, test_df, fresh, schema, target="y", sensitive=("sex",),
                   figures_dir=folder, seed=3, n_attacks=100)
    return rep, folder


def test_sections_and_scores(report):
    rep, _ = report
    assert set(rep.sections) == {"fidelity", "utility", "privacy_attacks", "fairness"}
    fid = rep.sections["fidelity"].scores
    assert 0.8 < fid["quality_score"] <= 1.0
    assert 0.0 <= rep.sections["privacy_attacks"].scores["mia_distance_auc"] <= 1.0
    assert rep.score("utility/task") == "classification"


def test_figures_saved_and_embedded(report):
    rep, folder = report
    figs = [f for s in rep.sections.values() for f in s.figures]
    assert sorted(figs) == ["figures/correlations.png", "figures/dcr.png",
                            "figures/marginals.png", "figures/mia_roc.png"]
    for f in figs:
        assert (folder / f).read_bytes()[:4] == b"\x89PNG"
    rep.write(folder)
    html = (folder / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 4
    data = json.loads((folder / "report.json").read_text())
    assert data["meta"]["privacy"].startswith("UNKNOWN")
    assert "numpy" in data["meta"]["versions"]


def test_same_seed_same_report(train, test_df, fresh, schema):
    a = evaluate(train, test_df, fresh, schema, target="y", seed=5, n_attacks=50)
    b = evaluate(train, test_df, fresh, schema, target="y", seed=5, n_attacks=50)
    assert json.dumps(a.to_dict(), sort_keys=True) == json.dumps(b.to_dict(), sort_keys=True)


def test_privacy_line_comes_from_the_ledger():
    assert privacy_summary(PrivacyLedger(None)).startswith("NOT PRIVATE")
    led = PrivacyLedger(Budget(epsilon=1.0, delta=1e-6))
    led.spend(GaussianEvent(noise_multiplier=5.0, label="x"))
    line = privacy_summary(led)
    assert line.startswith("epsilon = ") and f"{led.epsilon:.4g}" in line
    assert "UNKNOWN" in privacy_summary(None)


def test_mismatched_columns(train, test_df, fresh, schema):
    with pytest.raises(SchemaError, match=r"synthetic lacks column\(s\) \['income'\]"):
        evaluate(train, test_df, fresh.drop(columns="income"), schema)
    with pytest.raises(SchemaError, match=r"real_test has column\(s\) \['extra'\]"):
        evaluate(train, test_df.assign(extra=1), fresh, schema)


def test_target_missing_from_synthetic(train, test_df, fresh, schema):
    with pytest.raises(SchemaError, match="lacks column"):
        evaluate(train, test_df, fresh.drop(columns="y"), schema, target="y")
    with pytest.raises(ParameterError, match="target 'z' is not a column"):
        evaluate(train, test_df, fresh, schema, target="z")


def test_sensitive_with_one_group(train, test_df, fresh, schema):
    one = test_df.assign(sex="F")
    with pytest.raises(ParameterError, match="sensitive column 'sex' has 1 group"):
        evaluate(train, one, fresh, schema, target="y", sensitive=("sex",))
    with pytest.raises(ParameterError, match="categorical or boolean"):
        evaluate(train, test_df, fresh, schema, sensitive=("age",))


def test_empty_synthetic(train, test_df, fresh, schema):
    with pytest.raises(SchemaError, match=r"synthetic is empty \(0 rows\)"):
        evaluate(train, test_df, fresh.iloc[:0], schema)


def test_bad_parameters(train, test_df, fresh, schema):
    with pytest.raises(ParameterError, match="seed"):
        evaluate(train, test_df, fresh, schema, seed=-1)
    with pytest.raises(ParameterError, match="ledger"):
        evaluate(train, test_df, fresh, schema, ledger={"epsilon": 1})
    with pytest.raises(SchemaError, match="TableSchema"):
        evaluate(train, test_df, fresh, {"columns": []})


def test_private_ledger_epsilon_in_meta(train, test_df, fresh, schema):
    led = PrivacyLedger(Budget(epsilon=2.0, delta=1e-6))
    led.spend(GaussianEvent(noise_multiplier=3.0, label="x"))
    rep = evaluate(train, test_df, fresh, schema, ledger=led, n_attacks=50)
    assert math.isclose(rep.meta["epsilon"], led.epsilon)
    assert rep.meta["ledger"]["private"] is True
    assert "utility" not in rep.sections and "fairness" not in rep.sections
    assert isinstance(rep.sections["fidelity"].tables["column shapes"], list)
    assert pd.DataFrame(rep.sections["fidelity"].tables["column shapes"])["column"].tolist() == \
        ["age", "income", "sex", "region", "smoker", "y"]
