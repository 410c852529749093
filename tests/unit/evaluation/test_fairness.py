import numpy as np
import pandas as pd
import pytest

from synthscape.evaluation._checks import check_tables
from synthscape.evaluation.fairness import fairness, group_metrics, group_shares
from synthscape.evaluation.utility import Task, UtilityResult, utility


def test_group_shares(train, schema):
    syn = train.assign(sex="F")
    shares = group_shares(train, syn, schema, "sex")
    assert shares["group"].tolist() == ["F", "M"]
    assert shares["synthetic_share"].tolist() == [1.0, 0.0]
    assert shares["real_share"].sum() == pytest.approx(1.0)


def test_parity_differences_hand_example():
    # class codes: 0 = "no", 1 = "yes" (the minority, i.e. positive class)
    y = np.array([1, 0, 0, 0, 1, 0, 0, 0])
    pred = np.array([1, 1, 0, 0, 0, 0, 0, 0])  # group a: always right or too positive
    proba = np.eye(3)[pred]
    task = Task("y", "classification", {}, {"real_test": y}, ("no", "yes", None), minority=1)
    util = UtilityResult({}, pd.DataFrame(), predictions={"synthetic": proba}, task=task)
    groups = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    rows, scores = group_metrics(util, groups, ["a", "b"], "synthetic")
    assert [r["positive_rate"] for r in rows] == [0.5, 0.0]
    assert scores["demographic_parity_difference"] == pytest.approx(0.5)
    # TPR: a 1/1, b 0/1 -> 1; FPR: a 1/3, b 0/3 -> 1/3
    assert scores["equalized_odds_difference"] == pytest.approx(1.0)


def test_fairness_section(train, test_df, fresh, schema):
    tables = check_tables({"real_train": train, "real_test": test_df, "synthetic": fresh}, schema)
    util = utility(tables, schema, "y", seed=0)
    scores, out, notes = fairness(tables, schema, ("sex", "smoker"), util)
    assert scores["sex_share_tvd"] < 0.1
    for col in ("sex", "smoker"):
        for side in ("tstr", "trtr"):
            assert 0.0 <= scores[f"{col}_{side}_demographic_parity_difference"] <= 1.0
        table = out[f"{col}: per-group model quality"]
        assert set(table["train_on"]) == {"synthetic", "real"}
    assert notes == []
    shares_only, _, _ = fairness(tables, schema, ("region",), None)
    assert list(shares_only) == ["region_share_tvd"]
