import numpy as np
import pytest
from conftest import small_spec

from synthscape_finance.checks import hill_exponent, leakage_scores
from synthscape_finance.simulator import Simulation
from synthscape_finance.stream import stream


def _sample(tmp_path, artefact):
    spec = small_spec(population={"customers": 1200, "merchants": 300, "days": 14},
                      checks={"inject_artefact": artefact})
    _, sample = stream(Simulation(spec), tmp_path / artefact)
    return sample


def test_clean_simulation_does_not_leak(tmp_path):
    s = leakage_scores(_sample(tmp_path, "none"))
    assert s["illicit_rows"] > 100
    assert s["lift"] < 0.1 and max(s["lift_identifiers"], s["lift_timestamps"],
                                   s["lift_balances"]) < 0.1


@pytest.mark.parametrize("artefact,group", [("id_prefix", "identifiers"),
                                            ("balance", "balances")])
def test_planted_artefacts_are_found(tmp_path, artefact, group):
    s = leakage_scores(_sample(tmp_path, artefact))
    assert s[f"lift_{group}"] > 0.15
    assert s["auc_artefacts"] > 0.95


def test_hill_exponent_recovers_a_power_law():
    rng = np.random.default_rng(0)
    deg = np.floor(rng.pareto(1.2, 200_000) + 1).astype(int)  # P(D >= x) ~ x^-1.2: exponent 2.2
    est = hill_exponent(deg)
    assert 1.9 < est < 2.5
    assert hill_exponent(np.ones(5, int)) is None
