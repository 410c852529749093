"""Attack success rates and residual risks with confidence intervals, as in anonymeter
(Giomi et al. 2023, "A Unified Framework for Quantifying Privacy Risk in Synthetic Data",
Eq. 1-2): Wilson score intervals for rates, risk = (attack - control) / (1 - control)."""
from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Rate:
    value: float
    error: float


def success_rate(n_total: int, n_success: int, confidence: float = 0.95) -> Rate:
    """Wilson score estimate of a success probability and its half-width."""
    from scipy.stats import norm

    if n_total <= 0:
        return Rate(float("nan"), float("nan"))
    z = float(norm.ppf(0.5 + confidence / 2))
    z2 = z * z
    denom = n_total + z2
    rate = (n_success + 0.5 * z2) / denom
    var = n_success * (n_total - n_success) / n_total
    return Rate(rate, (z / denom) * math.sqrt(var + 0.25 * z2))


def residual(attack: Rate, control: Rate) -> Rate:
    """(attack - control) / (1 - control), with first-order error propagation."""
    if control.value >= 1:
        return Rate(0.0, 1.0)
    value = (attack.value - control.value) / (1 - control.value)
    d_attack = 1 / abs(1 - control.value)
    d_control = abs(attack.value - 1) / (1 - control.value) ** 2
    err = math.sqrt((attack.error * d_attack) ** 2 + (control.error * d_control) ** 2)
    return Rate(value, err)


def summary(prefix: str, n_attacks: int, n_success: int, n_baseline: int, n_control: int,
            confidence: float = 0.95) -> dict[str, float]:
    """Scores for one attack: success rates, the risk (clipped to [0, 1]) and its interval."""
    a = success_rate(n_attacks, n_success, confidence)
    b = success_rate(n_attacks, n_baseline, confidence)
    c = success_rate(n_attacks, n_control, confidence)
    r = residual(a, c)
    return {
        f"{prefix}_risk": max(0.0, min(1.0, r.value)),
        f"{prefix}_risk_ci_low": max(0.0, r.value - r.error),
        f"{prefix}_risk_ci_high": min(1.0, r.value + r.error),
        f"{prefix}_attack_rate": a.value,
        f"{prefix}_baseline_rate": b.value,
        f"{prefix}_control_rate": c.value,
        # an attack no better than guessing makes the risk meaningless (anonymeter warns too)
        f"{prefix}_attack_beats_baseline": float(a.value - a.error > b.value + b.error),
    }
