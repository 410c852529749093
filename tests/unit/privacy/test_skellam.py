"""The Skellam mechanism: its RDP bound, the calibration against the Gaussian plan, the sampler."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from synthscape.federated.secagg import skellam_mu
from synthscape.privacy import Budget, PrivacyLedger, SkellamEvent
from synthscape.privacy.accountants import event_rdp, make_accountant
from synthscape.privacy.analysis import rdp as rdp_maths
from synthscape.privacy.events import event_from_dict
from synthscape.privacy.noise import NoiseSource

ORD = rdp_maths.ORDERS
INTEGER = ORD[(ORD >= 2) & (ORD == np.round(ORD))]


@settings(max_examples=60, deadline=None)
@given(mu=st.floats(0.5, 1e6), l2=st.floats(0.1, 30), extra=st.floats(1, 30))
def test_skellam_bound_is_at_least_the_gaussian_at_the_same_variance(mu, l2, extra):
    l1 = l2 * extra
    sk = rdp_maths.skellam_rdp(mu, l1, l2, INTEGER)
    gauss = rdp_maths.gaussian_rdp(np.sqrt(2 * mu) / l2, INTEGER)
    assert np.all(sk >= gauss * (1 - 1e-12))
    # the correction vanishes as the noise grows: at mu x 100 the gap shrinks at least 10x
    far = rdp_maths.skellam_rdp(mu * 100, l1, l2, INTEGER) - \
        rdp_maths.gaussian_rdp(np.sqrt(200 * mu) / l2, INTEGER)
    assert np.all(far <= (sk - gauss) / 10 + 1e-15)


@settings(max_examples=40, deadline=None)
@given(mu=st.floats(1, 1e5), l2=st.floats(0.5, 10))
def test_fractional_orders_lie_on_the_convex_interpolation(mu, l2):
    o = rdp_maths.ORDERS
    curve = rdp_maths.skellam_rdp(mu, l2, l2, o)
    assert np.all(np.diff(curve) >= -1e-12)  # non-decreasing in the order
    at_int = dict(zip(INTEGER, rdp_maths.skellam_rdp(mu, l2, l2, INTEGER)))
    for a, v in zip(o, curve):
        if a >= 2 and np.floor(a) in at_int and np.ceil(a) in at_int:
            lo, hi = np.floor(a), np.ceil(a)
            assert at_int[lo] - 1e-12 <= v <= at_int[hi] + 1e-12


@settings(max_examples=40, deadline=None)
@given(nm=st.floats(0.3, 300), l2=st.floats(1, 10), extra=st.floats(1, 10))
def test_calibrated_mu_costs_no_more_than_the_planned_gaussian(nm, l2, extra):
    mu = skellam_mu(nm, l2 * extra, l2)
    orders = rdp_maths.ORDERS[rdp_maths.ORDERS >= 2]
    assert np.all(rdp_maths.skellam_rdp(mu, l2 * extra, l2, orders)
                  <= rdp_maths.gaussian_rdp(nm, orders) + 1e-15)
    assert mu >= (nm * l2) ** 2 / 2  # never less noise than the Gaussian's variance


def test_calibration_costs_little_noise_at_useful_scales():
    assert skellam_mu(10.0, 1.0, 1.0) / 50.0 < 1.1
    assert skellam_mu(50.0, 45.0, np.sqrt(45)) / ((50 * np.sqrt(45)) ** 2 / 2) < 1.1


def test_event_round_trips_and_pld_hands_it_to_rdp():
    e = SkellamEvent(mu=200.0, l1=2.0, l2=1.5, count=3, label="m")
    assert event_from_dict(e.to_dict()) == e
    assert np.allclose(event_rdp(e), 3 * rdp_maths.skellam_rdp(200.0, 2.0, 1.5))
    pld = make_accountant("pld")
    assert pld.method([e]) == "rdp"
    with pytest.raises(ValueError, match="cannot exceed"):
        SkellamEvent(mu=1.0, l1=1.0, l2=2.0)


def test_ledger_refuses_a_skellam_release_past_the_budget():
    led = PrivacyLedger(Budget(epsilon=1.0, delta=1e-6))
    led.spend(SkellamEvent(mu=200.0))
    with pytest.raises(Exception, match="budget"):
        led.spend(SkellamEvent(mu=0.5))


def test_sampler_has_the_skellam_moments_and_integer_values():
    x = NoiseSource(b"k" * 32).skellam(40.0, 40_000)
    assert x.dtype == np.int64
    assert abs(x.mean()) < 4 * np.sqrt(80 / 40_000)
    assert abs(x.var() / 80.0 - 1) < 0.05
    # symmetric: P(X = k) = P(X = -k)
    assert abs((x == 3).mean() - (x == -3).mean()) < 0.01
    y = NoiseSource(b"k" * 32).skellam(40.0, 40_000)
    assert np.array_equal(x, y)  # the same key, the same draws
