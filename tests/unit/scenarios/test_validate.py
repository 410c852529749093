"""check_spec: the checks that need no real data, and the metric names each kind declares."""
import logging

import numpy as np
import pandas as pd
import pytest

from synthscape.errors import SchemaError, SpecError
from synthscape.scenarios import parse_spec
from synthscape.scenarios.validate import (
    check_spec,
    load_schema_file,
    metric_list,
    table_columns,
    warn_delta,
)

COLUMNS = """\
    - {name: y, kind: categorical, categories: ["no", "yes"]}
    - {name: g, kind: categorical, categories: [a, b, c]}
    - {name: x, kind: numerical, lower: 0, upper: 10}
    - {name: b, kind: boolean}
"""


def tabular(folder, evaluation="{target: y}", extra="", data="{path: data.csv}"):
    text = (f"kind: tabular\nname: t\ndata: {data}\nschema:\n  columns:\n{COLUMNS}"
            f"generator: {{type: independent}}\nprivacy: {{epsilon: 1.0}}\n"
            f"evaluation: {evaluation}\n{extra}")
    return parse_spec(text, source=str(folder / "s.yaml"), base_dir=folder)


def table(n, seed):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 10, n)
    return pd.DataFrame({"y": np.where(x + rng.normal(0, 2, n) > 5, "yes", "no"),
                         "g": rng.choice(["a", "b", "c"], n), "x": x, "b": rng.random(n) > 0.5})


@pytest.fixture
def folder(tmp_path):
    table(50, 0).to_csv(tmp_path / "data.csv", index=False)
    return tmp_path


# ---- the declared metric names are what the evaluation computes -------------------------------
@pytest.mark.parametrize("target,task", [("y", "classification"), ("x", "regression")])
def test_declared_tabular_metrics_cover_every_numeric_score(folder, target, task):
    from synthscape.evaluation import evaluate
    from synthscape.evaluation.marginals import marginal_scores

    spec = tabular(folder, f"{{target: {target}, sensitive: [g]}}")
    declared = spec.declared_metrics()
    schema = spec._declared()[0]
    real, test, syn = table(300, 1), table(100, 2), table(300, 3)
    report = evaluate(real, test, syn, schema, target=target, sensitive=("g",), max_rows=200,
                      n_attacks=20, seed=0)
    report.add_section("marginals", scores=marginal_scores(real, syn, schema))
    produced = {f"{key}/{name}" for key, section in report.sections.items()
                for name, value in section.scores.items() if not isinstance(value, str)}
    assert produced - set(declared) == set()  # a new score needs its name declared
    computed = {n for n, why in declared.items() if why is None}
    assert computed - produced == set()  # nothing declared that is not computed
    other = "regression" if task == "classification" else "classification"
    assert not any(other in n for n in computed)


def test_declared_metrics_say_why_a_metric_is_not_computed(folder):
    spec = tabular(folder, "{full: false}")
    declared = spec.declared_metrics()
    assert declared["marginals/one_way_tvd_mean"] is None
    assert declared["fidelity/quality_score"] == "computed only with evaluation.full: true"
    assert declared["utility/tstr_roc_auc_hgb"] == "computed only with evaluation.target set"
    spec = tabular(folder, data="{path: data.csv, test_fraction: 0}")
    assert spec.declared_metrics()["fidelity/quality_score"] == \
        "needs held-out rows: set data.test_fraction > 0"
    assert tabular(folder).declared_metrics()["fidelity/quality_score"] is None


# ---- check_spec ---------------------------------------------------------------------------------
def test_gate_names_are_checked_before_anything_runs(folder):
    spec = tabular(folder, "{target: y, gates: {fidelity/qualty_score: {min: 0.5}, "
                           "fairness/g_share_tvd: {max: 0.1}}}")
    with pytest.raises(SpecError) as err:
        check_spec(spec)
    msg = str(err.value)
    first = next(line for line in msg.splitlines() if "qualty" in line)
    assert "field 'evaluation.gates.fidelity/qualty_score'" in first
    assert "did you mean 'fidelity/quality_score'" in first
    assert "fidelity/{alpha_precision, " in first and "privacy_attacks/" not in first
    assert "unknown metric 'fairness/g_share_tvd'" in msg  # g is not in evaluation.sensitive


def test_a_kind_without_declared_metrics_is_not_checked(folder):
    from synthscape.scenarios.kinds import Kind
    from synthscape.scenarios.tabular import TabularSpec, run_tabular

    spec = tabular(folder, "{gates: {made/up: {min: 0}}}")
    assert check_spec(spec, kind=Kind("tabular", TabularSpec, run_tabular,
                                      metrics=lambda s: None)) == []
    with pytest.raises(SpecError, match="unknown metric 'made/up'"):
        check_spec(spec)


def test_problems_are_collected_and_raised_once(folder):
    spec = tabular(folder, "{target: yy, sensitive: [gg]}",
                   extra="conditions: {x: 1, gg: a}\n")
    with pytest.raises(SpecError) as err:
        check_spec(spec)
    msg = str(err.value)
    for needle in ("field 'evaluation.target': unknown column 'yy'; did you mean 'y'?",
                   "field 'evaluation.sensitive.0': unknown column 'gg'",
                   "field 'conditions.x': conditions apply to categorical or boolean columns",
                   "field 'conditions.gg'"):
        assert needle in msg
    assert msg.count(str(folder / "s.yaml")) == 4


def test_warnings_are_logged_and_returned(folder, caplog):
    spec = parse_spec("kind: tabular\nname: t\ndata: {path: data.csv}\nschema: {infer: free}\n"
                      "generator: {type: independent}\nprivacy: {epsilon: 50}\n",
                      source="s.yaml", base_dir=folder)
    with caplog.at_level(logging.WARNING, logger="synthscape"):
        (w,) = check_spec(spec)
    assert w.warning and "epsilon 50 > 10" in caplog.text and "s.yaml, line 6" in caplog.text


# ---- helpers ------------------------------------------------------------------------------------
def test_warn_delta_speaks_of_1_over_n_without_n(caplog):
    from synthscape.scenarios.spec import PrivacySpec

    with caplog.at_level(logging.WARNING, logger="synthscape"):
        assert not warn_delta(PrivacySpec(epsilon=1, delta=1e-6), 999_999)
        assert not warn_delta(None, 10**9)
        assert warn_delta(PrivacySpec(epsilon=1, delta=5e-4), 2345, "patients")
    assert "privacy.delta 0.0005 >= 1/n" in caplog.text and "patients" in caplog.text
    assert "2345" not in caplog.text


def test_table_columns_reads_only_the_header(tmp_path):
    p = tmp_path / "d.csv"
    p.write_text("a,b\n1,2\n")
    assert table_columns(p) == ["a", "b"]
    pd.DataFrame({"u": [1], "v": [2]}).to_parquet(tmp_path / "d.parquet")
    assert table_columns(tmp_path / "d.parquet") == ["u", "v"]
    p.write_text("")
    with pytest.raises(SchemaError, match="is empty"):
        table_columns(p)
    (tmp_path / "bad.parquet").write_text("not parquet")
    with pytest.raises(SchemaError, match="not a readable Parquet file"):
        table_columns(tmp_path / "bad.parquet")


@pytest.mark.parametrize("name,text,needle", [
    ("s.yaml", "columns:\n  - {name: a, kind: numerical\n", "malformed YAML at line 3"),
    ("s.json", '{"columns": [}', "malformed JSON at line 1"),
    ("s.yaml", "- a\n", "must hold a mapping"),
    ("s.yaml", "columns:\n  - {name: a, kind: numerical}\n", "needs both 'lower' and 'upper'"),
    ("s.txt", "columns: []\n", "unknown format '.txt'"),
])
def test_load_schema_file_names_the_file(tmp_path, name, text, needle):
    (tmp_path / name).write_text(text)
    with pytest.raises(SchemaError) as err:
        load_schema_file(tmp_path / name)
    assert needle in str(err.value) and name in str(err.value)


def test_metric_list_groups_by_section():
    assert metric_list(["b/z", "a/y", "a/x"]) == "a/{x, y}; b/{z}"
