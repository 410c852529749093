"""Local-DP federation: randomised response per record, debiased at the coordinator."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from synthscape.federated import InProcessTransport, Site, fit_federated, fit_local_dp
from synthscape.federated.local import debias
from synthscape.privacy import Budget


@given(st.lists(st.integers(0, 500), min_size=2, max_size=8), st.floats(0.1, 5.0))
@settings(max_examples=40, deadline=None)
def test_debiasing_the_expected_reports_gives_the_counts(counts, eps):
    c = np.array(counts, float)
    k, n = c.size, c.sum()
    p = math.exp(eps) / (math.exp(eps) + k - 1)
    q = 1 / (math.exp(eps) + k - 1)
    expected = c * p + (n - c) * q  # E[reports] under k-RR
    est, std = debias(expected, eps)
    assert est == pytest.approx(c, abs=1e-6 * max(n, 1))
    assert std >= 0


def test_local_dp_spends_pure_epsilon_and_is_noisier_than_central(parts, schema):
    sites = [Site(f"s{i}", p, budget=Budget(epsilon=1.0)) for i, p in enumerate(parts)]
    workload = [("y", "z")]
    local = fit_local_dp(InProcessTransport(sites), schema, workload=workload, bins=6, iters=30)
    assert all(led.epsilon == pytest.approx(1.0, rel=1e-6) for led in local.ledgers.values())
    assert "Local DP" in local.guarantee
    central = fit_federated(
        InProcessTransport([Site(f"s{i}", p, budget=Budget(epsilon=1.0))
                            for i, p in enumerate(parts)]),
        schema, workload=workload, bins=6, iters=30)
    pooled = np.concatenate([(p["y"].astype(int).to_numpy()) for p in parts])
    truth = np.bincount(pooled, minlength=4) / len(pooled)

    def err(fit):
        s = fit.generator.sample(4000, seed=0)["y"].astype(int).to_numpy()
        return 0.5 * np.abs(np.bincount(s, minlength=4) / len(s) - truth).sum()

    assert err(central) < 0.05
    assert err(local) < 0.5  # much noisier, still a distribution over the right support
