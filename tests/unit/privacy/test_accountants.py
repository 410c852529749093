"""Accounting against closed forms and against opacus / dp-accounting for the same parameters."""
import math

import numpy as np
import pytest
from scipy.stats import norm

from synthscape.errors import ParameterError
from synthscape.privacy import (
    Budget,
    ExponentialEvent,
    GaussianEvent,
    LaplaceEvent,
    PrivacyLedger,
    SubsampledGaussianEvent,
    ZCdpEvent,
    make_accountant,
)
from synthscape.privacy.analysis import ORDERS


def analytic_gaussian_delta(eps: float, sigma: float) -> float:
    """Balle and Wang 2018, Thm. 8: exact delta(eps) of the Gaussian mechanism (sensitivity 1)."""
    return (norm.cdf(1 / (2 * sigma) - eps * sigma)
            - math.exp(eps) * norm.cdf(-1 / (2 * sigma) - eps * sigma))


@pytest.mark.parametrize("sigma", [0.8, 2.0, 10.0])
@pytest.mark.parametrize("delta", [1e-5, 1e-8])
def test_gaussian_epsilon_is_a_valid_and_reasonably_tight_bound(sigma, delta):
    eps = make_accountant("rdp").epsilon([GaussianEvent(noise_multiplier=sigma)], delta)
    # Sound: the exact privacy curve at our epsilon is within delta.
    assert analytic_gaussian_delta(eps, sigma) <= delta * (1 + 1e-6)
    # Not loose: within 40% of the exact epsilon for this delta.
    lo, hi = 0.0, 100.0
    for _ in range(200):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if analytic_gaussian_delta(mid, sigma) > delta else (lo, mid)
    assert eps <= 1.4 * hi + 1e-3


@pytest.mark.parametrize("rho", [1e-3, 0.05, 1.0])
def test_zcdp_conversion_beats_bun_steinke_closed_form(rho):
    delta = 1e-6
    eps = make_accountant("rdp").epsilon([ZCdpEvent(rho=rho)], delta)
    assert eps <= rho + 2 * math.sqrt(rho * math.log(1 / delta)) + 1e-9
    # and equals the optimum of the conversion over a fine continuum of orders
    a = np.concatenate([np.linspace(1.0001, 300, 200_000), np.geomspace(300, 1e5, 20_000)])
    exact = np.min(a * rho + np.log((a - 1) / a) - (np.log(delta) + np.log(a)) / (a - 1))
    assert eps == pytest.approx(exact, rel=0.02)


def test_gaussian_events_compose_like_one_with_combined_noise():
    acc = make_accountant("rdp")
    two = acc.epsilon([GaussianEvent(noise_multiplier=2.0)] * 2, 1e-6)
    one = acc.epsilon([GaussianEvent(noise_multiplier=2.0 / math.sqrt(2))], 1e-6)
    counted = acc.epsilon([GaussianEvent(noise_multiplier=2.0, count=2)], 1e-6)
    assert two == pytest.approx(one, rel=1e-12) == pytest.approx(counted, rel=1e-12)


def test_pure_dp_composes_by_summation_at_delta_zero():
    events = [LaplaceEvent(epsilon=0.3), ExponentialEvent(epsilon=0.2, count=2)]
    assert make_accountant("rdp").epsilon(events, 0.0) == pytest.approx(0.7)
    assert math.isinf(make_accountant("rdp").epsilon([GaussianEvent(noise_multiplier=1.0)], 0.0))


def test_many_laplace_releases_beat_basic_and_advanced_composition():
    k, e, delta = 200, 0.05, 1e-6
    eps = make_accountant("rdp").epsilon([LaplaceEvent(epsilon=e, count=k)], delta)
    advanced = math.sqrt(2 * k * math.log(1 / delta)) * e + k * e * (math.exp(e) - 1)
    assert eps < k * e and eps < advanced


@pytest.mark.parametrize("sigma,q,steps", [(1.1, 0.01, 1000), (0.8, 0.05, 200), (3.0, 0.1, 50)])
def test_dp_sgd_matches_opacus_rdp(sigma, q, steps):
    from opacus.accountants import RDPAccountant

    led = PrivacyLedger(Budget(epsilon=1e3, delta=1e-5))
    led.spend(SubsampledGaussianEvent(noise_multiplier=sigma, sample_rate=q, steps=steps))
    ours = led.epsilon
    ref = RDPAccountant()
    ref.history.append((sigma, q, steps))
    reference = ref.get_epsilon(1e-5, alphas=[a for a in ORDERS if a <= 256])
    assert ours == pytest.approx(reference, rel=1e-9)
    # our order grid is a superset of opacus' default: never looser than the default
    assert ours <= ref.get_epsilon(1e-5) + 1e-9


def test_dp_sgd_matches_opacus_prv():
    from opacus.accountants import PRVAccountant

    led = PrivacyLedger(Budget(epsilon=100, delta=1e-5), accountant="prv")
    led.spend(SubsampledGaussianEvent(noise_multiplier=1.1, sample_rate=0.01, steps=500))
    ref = PRVAccountant()
    ref.history.append((1.1, 0.01, 500))
    assert led.epsilon == pytest.approx(ref.get_epsilon(1e-5), rel=1e-6)
    # ledgers with non-Gaussian events are accounted whole by RDP (sound for every kind)
    mixed = [LaplaceEvent(epsilon=1.0), SubsampledGaussianEvent(noise_multiplier=1.1,
                                                                sample_rate=0.01, steps=500)]
    assert make_accountant("prv").epsilon(mixed, 1e-5) == make_accountant("rdp").epsilon(mixed,
                                                                                         1e-5)


def test_pld_matches_dp_accounting_and_is_tighter_than_rdp():
    from dp_accounting import dp_event as de
    from dp_accounting.pld import pld_privacy_accountant as pa

    ev = SubsampledGaussianEvent(noise_multiplier=1.0, sample_rate=0.02, steps=300)
    ours = make_accountant("pld").epsilon([ev], 1e-6)
    acc = pa.PLDAccountant(value_discretization_interval=1e-3)
    step = de.PoissonSampledDpEvent(0.02, de.GaussianDpEvent(1.0))
    acc.compose(de.SelfComposedDpEvent(step, 300))
    assert ours == pytest.approx(acc.get_epsilon(1e-6), rel=1e-9)
    assert ours <= make_accountant("rdp").epsilon([ev], 1e-6)


def test_mixed_ledger_composes_every_event_kind():
    events = [LaplaceEvent(epsilon=0.1), ExponentialEvent(epsilon=0.1),
              GaussianEvent(noise_multiplier=5.0),
              SubsampledGaussianEvent(noise_multiplier=2.0, sample_rate=0.01, steps=100)]
    for name in ("rdp", "pld"):
        eps_all = make_accountant(name).epsilon(events, 1e-6)
        for i in range(len(events)):
            fewer = make_accountant(name).epsilon(events[:i] + events[i + 1:], 1e-6)
            assert eps_all >= fewer - 1e-9


def test_unknown_accountant_is_a_clear_error():
    with pytest.raises(ParameterError, match="unknown accountant 'rpd'"):
        make_accountant("rpd")
