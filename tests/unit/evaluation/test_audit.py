import math

import numpy as np
import pandas as pd
import pytest

from synthscape.errors import ParameterError
from synthscape.evaluation import Report
from synthscape.evaluation.audit import (
    audit,
    canary_tests,
    clopper_pearson,
    epsilon_lower_bound,
    make_canary,
)

from .conftest import draw


def test_clopper_pearson_edges():
    assert clopper_pearson(0, 10, 0.05)[0] == 0.0
    lo, hi = clopper_pearson(10, 10, 0.05)
    assert hi == 1.0 and lo == pytest.approx(0.025 ** 0.1)
    lo, hi = clopper_pearson(5, 10, 0.05)
    assert lo < 0.5 < hi


def test_lower_bound_perfect_separation_matches_formula():
    w, wo = np.ones(20), np.zeros(20)
    eps, thr, tpr, fpr = epsilon_lower_bound(w, wo, delta=0.0, confidence=0.95)
    alpha = 0.05  # one distinct "with" score, so one threshold tried
    tpr_lo = (alpha / 2) ** (1 / 20)
    assert thr == 1.0 and (tpr, fpr) == (1.0, 0.0)
    assert eps == pytest.approx(math.log(tpr_lo / (1 - tpr_lo)))
    # no separation, no bound
    assert epsilon_lower_bound(np.zeros(20), np.zeros(20), 0.0)[0] == 0.0


def test_canary_stands_out(schema):
    data = draw(150, 1)
    canary = make_canary(data, schema)
    assert canary["income"] == 200_000 and canary["region"] == "west"
    tests = canary_tests(data, pd.DataFrame([canary]), schema)
    assert ("above", "income") in [(k, n) for k, n, _ in tests]


def test_flags_the_non_private_baseline(schema):
    res = audit("gaussian_copula", draw(150, 1), schema, trials=12, seed=0)
    assert res.flagged and not res.private and res.claimed_epsilon is None
    assert res.attack_auc > 0.9 and res.epsilon_lower_bound > 0
    assert res.verdict.startswith("FLAGGED") and "NOT PRIVATE" in res.verdict


@pytest.mark.slow
def test_stays_below_epsilon_for_a_dp_generator(schema, tmp_path):
    res = audit("mst", draw(150, 1), schema, trials=6, params={"epsilon": 1.0}, seed=0)
    assert res.private and res.claimed_epsilon == pytest.approx(1.0, rel=1e-3)
    assert res.epsilon_lower_bound < res.claimed_epsilon and not res.flagged
    assert res.verdict.startswith("consistent")
    report = Report()
    res.add_to(report, figures_dir=tmp_path)
    assert report.score("audit/flagged") == 0.0
    assert (tmp_path / "figures" / "audit.png").exists()


def test_same_seed_same_audit(schema):
    a = audit("gaussian_copula", draw(100, 2), schema, trials=3, seed=4)
    b = audit("gaussian_copula", draw(100, 2), schema, trials=3, seed=4)
    assert a.to_dict() == b.to_dict()


def test_bad_input(schema):
    data = draw(50, 1)
    with pytest.raises(ParameterError, match="trials"):
        audit("gaussian_copula", data, schema, trials=1)
    with pytest.raises(Exception, match="did you mean 'gaussian_copula'"):
        audit("gaussian_copla", data, schema, trials=2)
    ordinary = data.iloc[0].to_dict()
    with pytest.raises(ParameterError, match="does not stand out"):
        audit("gaussian_copula", data, schema, trials=2, canary=ordinary)
