import numpy as np
import pytest

from synthscape.evaluation._checks import check_tables
from synthscape.evaluation.attacks import run_attacks
from synthscape.evaluation.attacks._risk import residual, success_rate, summary
from synthscape.evaluation.attacks.membership import roc_summary


def _run(train, test_df, syn, schema, seed=0):
    t = check_tables({"real_train": train, "real_test": test_df, "synthetic": syn}, schema)
    return run_attacks(t, schema, np.random.default_rng(seed), n_attacks=100)


@pytest.fixture(scope="module")
def on_copy(train, test_df, copy, schema):
    return _run(train, test_df, copy, schema)


@pytest.fixture(scope="module")
def on_fresh(train, test_df, fresh, schema):
    return _run(train, test_df, fresh, schema)


def test_wilson_rate_and_residual():
    r = success_rate(100, 50)
    assert r.value == pytest.approx(0.5) and r.error == pytest.approx(0.0962, abs=1e-3)
    assert residual(success_rate(100, 50), success_rate(100, 50)).value == pytest.approx(0.0)
    s = summary("x", 100, 90, 5, 10)
    assert 0.8 < s["x_risk"] < 0.95 and s["x_risk_ci_low"] < s["x_risk"] < s["x_risk_ci_high"]
    assert s["x_attack_beats_baseline"] == 1.0


def test_roc_summary_perfect_and_chance():
    assert roc_summary(np.array([2.0, 3]), np.array([0.0, 1]))["tpr_at_fpr"] == 1.0
    assert roc_summary(np.zeros(10), np.zeros(10))["auc"] == 0.5


def test_copies_are_caught(on_copy):
    s = on_copy.scores
    assert s["exact_copy_rate"] == 1.0 and s["exact_copy_rate_test"] == 0.0
    assert s["dcr_synthetic_train_median"] == 0.0 and s["dcr_share_below_test_p05"] == 1.0
    assert s["mia_distance_auc"] > 0.95 and s["mia_distance_tpr_at_fpr_0.01"] > 0.9
    # the kernel density ratio is the weaker attack on 400 rows, but still sees the copies
    assert s["mia_domias_auc"] > 0.58
    assert s["linkability_risk"] > 0.3 and s["linkability_attack_beats_baseline"] == 1.0
    assert s["singling_out_multivariate_risk"] > 0.2


def test_fresh_data_is_not_flagged(on_fresh):
    s = on_fresh.scores
    assert s["exact_copy_rate"] == 0.0
    for attack in ("distance", "domias", "domias_marginal"):
        assert 0.35 < s[f"mia_{attack}_auc"] < 0.65
    assert s["dcr_share_below_test_p05"] < 0.2
    assert s["linkability_risk_ci_low"] < 0.1


def test_inference_table_covers_every_column(on_copy, on_fresh, schema):
    cols = [c.name for c in schema.modelled()]
    assert on_fresh.inference_table["secret"].tolist() == cols
    assert on_copy.scores["inference_risk_max"] > on_fresh.scores["inference_risk_max"]


def test_same_seed_same_attacks(train, test_df, fresh, schema):
    a = _run(train, test_df, fresh, schema, seed=7).scores
    b = _run(train, test_df, fresh, schema, seed=7).scores
    assert a == b
