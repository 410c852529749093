import json
import math

import numpy as np
import pytest
from pydantic import ValidationError

from synthscape.errors import BudgetExceededError
from synthscape.privacy import (
    Budget,
    GaussianEvent,
    LaplaceEvent,
    NonPrivateEvent,
    PrivacyLedger,
    SubsampledGaussianEvent,
    ThresholdGaussianEvent,
)
from synthscape.privacy.mechanisms import (
    exponential_mechanism,
    gaussian_mechanism,
    laplace_mechanism,
)


def test_refuses_before_overspending_and_records_nothing():
    led = PrivacyLedger(Budget(epsilon=1.0, delta=1e-6))
    led.spend(LaplaceEvent(epsilon=0.6, label="a"))
    before = led.events
    with pytest.raises(BudgetExceededError, match="nothing was spent"):
        led.spend(LaplaceEvent(epsilon=0.6, label="b"))
    assert led.events == before
    assert led.epsilon <= 1.0


def test_json_round_trip_keeps_events_and_epsilon(tmp_path):
    led = PrivacyLedger(Budget(epsilon=3.0, delta=1e-6), accountant="pld")
    led.spend(GaussianEvent(noise_multiplier=4.0, label="one-way"))
    led.spend(SubsampledGaussianEvent(noise_multiplier=1.5, sample_rate=0.01, steps=100,
                                      label="sgd"))
    p = tmp_path / "ledger.json"
    led.to_json(p)
    back = PrivacyLedger.from_json(p)
    assert back.events == led.events
    assert back.epsilon == pytest.approx(led.epsilon)
    assert json.loads(p.read_text())["accountant"] == "pld"


def test_non_private_ledger_reports_infinity_everywhere():
    led = PrivacyLedger(None)
    assert math.isinf(led.epsilon) and not led.is_private
    assert "NOT PRIVATE" in led.describe()
    assert led.to_dict()["epsilon"] is None
    private = PrivacyLedger(Budget(epsilon=1.0))
    private.spend(NonPrivateEvent(reason="peeked"))
    assert math.isinf(private.epsilon) and "peeked" in private.describe()


def test_remaining_rho_and_calibrate_fill_but_never_exceed_the_budget():
    led = PrivacyLedger(Budget(epsilon=2.0, delta=1e-6))
    led.spend(LaplaceEvent(epsilon=0.5))
    sigma = led.calibrate(lambda s: SubsampledGaussianEvent(noise_multiplier=s, sample_rate=0.01,
                                                            steps=500))
    ev = SubsampledGaussianEvent(noise_multiplier=sigma, sample_rate=0.01, steps=500)
    assert not led.would_exceed(ev)
    led.spend(ev)
    assert 1.98 <= led.epsilon <= 2.0
    assert led.remaining_rho() < 1e-4  # nothing meaningful is left
    with pytest.raises(BudgetExceededError):
        led.spend(LaplaceEvent(epsilon=0.05))


def test_threshold_events_consume_delta():
    led = PrivacyLedger(Budget(epsilon=5.0, delta=1e-6))
    led.spend(ThresholdGaussianEvent(noise_multiplier=3.0, delta=5e-7))
    plain = PrivacyLedger(Budget(epsilon=5.0, delta=1e-6))
    plain.spend(GaussianEvent(noise_multiplier=3.0))
    assert led.epsilon > plain.epsilon  # less delta left for the conversion


@pytest.mark.parametrize("bad", [dict(epsilon=0), dict(epsilon=-1), dict(epsilon=float("inf")),
                                 dict(epsilon=1, delta=1), dict(epsilon=1, delta=-0.1)])
def test_bad_budgets_are_rejected(bad):
    with pytest.raises(ValidationError):
        Budget(**bad)


def test_mechanisms_spend_then_release():
    led = PrivacyLedger(Budget(epsilon=10.0, delta=1e-6))
    out = gaussian_mechanism(np.zeros(20000), noise_multiplier=2.0, sensitivity=1.5, ledger=led,
                             label="g")
    assert out.std() == pytest.approx(3.0, rel=0.05)
    lap = laplace_mechanism(np.zeros(20000), epsilon=2.0, sensitivity=1.0, ledger=led,
                            label="l")
    assert np.abs(lap).mean() == pytest.approx(0.5, rel=0.05)
    pick = exponential_mechanism([0, 0, 1000.0], epsilon=1.0, sensitivity=1.0, ledger=led,
                                 label="e")
    assert pick == 2
    assert [e.label for e in led.events] == ["g", "l", "e"]


def test_absorb_composes_an_earlier_ledger_or_refuses():
    from synthscape.errors import BudgetExceededError
    from synthscape.privacy import GaussianEvent

    first = PrivacyLedger(Budget(epsilon=1.0, delta=1e-6))
    first.spend(GaussianEvent(noise_multiplier=5.0, label="schema"))
    led = PrivacyLedger(Budget(epsilon=1.0, delta=1e-6))
    led.absorb(first, label="schema inference")
    assert led.epsilon == pytest.approx(first.epsilon)
    small = PrivacyLedger(Budget(epsilon=first.epsilon / 2, delta=1e-6))
    with pytest.raises(BudgetExceededError, match="schema inference"):
        small.absorb(first, label="schema inference")
    assert small.events == ()


def test_pld_calibration_is_bracketed_by_rdp_and_needs_no_more_noise():
    def plan(s):
        return SubsampledGaussianEvent(noise_multiplier=s, sample_rate=0.01, steps=2000)

    sig = {}
    for name in ("rdp", "pld"):
        led = PrivacyLedger(Budget(epsilon=2.0, delta=1e-6), accountant=name)
        sig[name] = led.calibrate(plan)
        led.spend(plan(sig[name]))
        assert 1.95 <= led.epsilon <= 2.0
    assert sig["pld"] <= sig["rdp"]


def test_repeated_readings_ask_the_accountant_once_per_composition():
    led = PrivacyLedger(Budget(epsilon=5.0, delta=1e-5))
    calls = []
    real = led._accountant.epsilon
    led._accountant.epsilon = lambda events, delta: calls.append(len(events)) or real(events,
                                                                                      delta)
    ev = GaussianEvent(noise_multiplier=3.0)
    assert not led.would_exceed(ev)
    led.spend(ev)
    first = led.epsilon
    assert led.epsilon == first and calls == [1]  # check, spend and readings share one call
    led.spend(GaussianEvent(noise_multiplier=4.0))
    assert led.epsilon > first and calls == [1, 2]


def test_description_names_the_analysis_that_accounts_the_events():
    led = PrivacyLedger(Budget(epsilon=5.0, delta=1e-6), accountant="prv")
    led.spend(SubsampledGaussianEvent(noise_multiplier=2.0, sample_rate=0.01, steps=100,
                                      label="dp-sgd"))
    assert led.accountant_method == "prv" and "prv accountant," in led.describe()
    led.spend(LaplaceEvent(epsilon=0.1, label="counts"))
    # opacus' PRV composes Gaussian mechanisms only: RDP accounts this ledger whole, and says so
    assert led.accountant_method == "rdp"
    assert "rdp accountant: the prv accountant does not represent" in led.describe()
    assert led.to_dict()["accounted_by"] == "rdp"
    from synthscape.privacy.accountants import make_accountant

    assert led.epsilon == pytest.approx(make_accountant("rdp").epsilon(led.events, led.delta))
