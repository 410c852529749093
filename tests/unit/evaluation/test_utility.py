import numpy as np
import pytest

from synthscape.evaluation._checks import check_tables
from synthscape.evaluation.utility import classification_metrics, utility


def _tables(train, test_df, syn, schema):
    return check_tables({"real_train": train, "real_test": test_df, "synthetic": syn}, schema)


def test_classification_metrics_hand_example():
    y = np.array([0, 0, 0, 1])
    proba = np.array([[0.9, 0.1], [0.8, 0.2], [0.4, 0.6], [0.3, 0.7]])
    m = classification_metrics(y, proba, minority=1)
    assert m["accuracy"] == 0.75 and m["minority_recall"] == 1.0
    assert m["roc_auc"] == 1.0 and m["pr_auc"] == 1.0


def test_tstr_close_to_trtr_on_fresh_data(train, test_df, fresh, schema):
    res = utility(_tables(train, test_df, fresh, schema), schema, "y", seed=0)
    s = res.scores
    assert s["task"] == "classification"
    assert abs(s["tstr_roc_auc_lr"] - s["trtr_roc_auc_lr"]) < 0.1
    assert set(res.table["train_on"]) == {"synthetic", "real", "real+synthetic"}
    assert "synthetic" in res.predictions and "real" in res.predictions


def test_shuffled_target_destroys_utility(train, test_df, fresh, schema):
    noise = fresh.assign(y=np.random.default_rng(1).permutation(fresh["y"].to_numpy()))
    s = utility(_tables(train, test_df, noise, schema), schema, "y", seed=0).scores
    assert s["tstr_roc_auc_lr"] < s["trtr_roc_auc_lr"] - 0.1


def test_single_class_synthetic_target(train, test_df, fresh, schema):
    res = utility(_tables(train, test_df, fresh.assign(y="no"), schema), schema, "y", seed=0)
    assert np.isnan(res.scores["tstr_roc_auc_hgb"])
    assert any("single class" in n for n in res.notes)


def test_regression_target(train, test_df, fresh, schema):
    s = utility(_tables(train, test_df, fresh, schema), schema, "income", seed=0).scores
    assert s["task"] == "regression"
    assert s["trtr_r2_lr"] > 0.3 and s["tstr_r2_lr"] == pytest.approx(s["trtr_r2_lr"], abs=0.15)
