import numpy as np
import pandas as pd
import pytest

from synthscape_finance.learned import (
    NUMERIC,
    augment,
    customer_features,
    customer_schema,
    fit_generator,
    rows_to_reach,
)
from synthscape_finance.metrics import detection_scores, paired_summary, recall_at_fpr


def test_one_bounded_row_per_customer(tables):
    j = tables["joined"]
    f = customer_features(j, tables["accounts"], tables["customers"])
    owners = tables["accounts"].set_index("account_id").loc[j.account_id.unique(), "customer_id"]
    assert len(f) == owners.nunique()
    for name, lo, hi in NUMERIC:
        assert f[name].between(lo, hi).all(), name
    assert set(f["is_fraud"]) == {"yes", "no"}
    customer_schema().validate(f)  # declared schema: nothing read from the data


def test_fit_spends_a_customer_level_budget_and_oversamples_by_conditioning(tables):
    j = tables["joined"]
    f = customer_features(j, tables["accounts"], tables["customers"])
    gen = fit_generator(f, customer_schema(), generator="mst", epsilon=2.0, seed=0)
    assert gen.ledger_.budget.unit == "customer"
    assert 0 < gen.ledger_.epsilon <= 2.0 + 1e-9
    extra = augment(gen, 50, "is_fraud", "yes", seed=1)
    assert len(extra) == 50 and (extra["is_fraud"] == "yes").all()
    again = augment(gen, 50, "is_fraud", "yes", seed=1)
    pd.testing.assert_frame_equal(extra, again)


def test_non_private_baseline_says_so(tables):
    j = tables["joined"]
    f = customer_features(j, tables["accounts"], tables["customers"])
    gen = fit_generator(f, customer_schema(), generator="gaussian_copula", epsilon=None)
    assert not gen.ledger_.is_private and np.isinf(gen.ledger_.epsilon)


def test_rows_to_reach_a_share():
    assert rows_to_reach(10, 100, 0.5) == 80          # (10 + 80) / (100 + 80) = 0.5
    assert rows_to_reach(60, 100, 0.5) == 0


def test_detection_metrics_on_a_known_ranking():
    y = np.r_[np.zeros(1000), np.ones(10)]
    s = np.r_[np.linspace(0, 0.5, 1000), np.linspace(0.4, 0.9, 10)]
    assert recall_at_fpr(y, s, 0.01) == pytest.approx(0.8)
    perfect = detection_scores(y, (y > 0).astype(float))
    assert perfect["pr_auc"] == 1.0 and perfect["minority_f1"] == 1.0 and perfect["brier"] == 0
    p = paired_summary(np.array([0.01, 0.02, 0.03]))
    assert p["ci95_low"] < 0.02 < p["ci95_high"] and p["mean"] == pytest.approx(0.02)
