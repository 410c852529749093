"""Noise mechanisms. Each call spends its event through the ledger before releasing anything,
and draws its randomness from the ledger's secret :class:`~synthscape.privacy.noise.NoiseSource`
(never from a seeded generator: a recipient knows every public seed)."""
from __future__ import annotations

import math

import numpy as np

from synthscape.privacy.events import ExponentialEvent, GaussianEvent, LaplaceEvent
from synthscape.privacy.ledger import PrivacyLedger


def gaussian_mechanism(
    values,
    *,
    noise_multiplier: float,
    sensitivity: float,
    ledger: PrivacyLedger,
    label: str,
) -> np.ndarray:
    """Release ``values + N(0, (noise_multiplier * sensitivity)^2)`` after spending the event."""
    ledger.spend(GaussianEvent(noise_multiplier=noise_multiplier, label=label))
    values = np.asarray(values, dtype=float)
    return values + noise_multiplier * sensitivity * ledger.noise.standard_normal(values.shape)


def laplace_mechanism(
    values,
    *,
    epsilon: float,
    sensitivity: float,
    ledger: PrivacyLedger,
    label: str,
) -> np.ndarray:
    ledger.spend(LaplaceEvent(epsilon=epsilon, label=label))
    values = np.asarray(values, dtype=float)
    return values + (sensitivity / epsilon) * ledger.noise.laplace(values.shape)


def exponential_mechanism(
    scores,
    *,
    epsilon: float,
    sensitivity: float,
    ledger: PrivacyLedger,
    label: str,
) -> int:
    """McSherry and Talwar 2007, via the Gumbel-max trick: argmax of eps/(2 s) * score + Gumbel."""
    ledger.spend(ExponentialEvent(epsilon=epsilon, label=label))
    scores = np.asarray(scores, dtype=float)
    gumbel = ledger.noise.gumbel(scores.size)
    return int(np.argmax(epsilon / (2 * sensitivity) * scores + gumbel))


def noisy_count(count: int, *, ledger: PrivacyLedger, share: float, label: str) -> int:
    """A row count released with the Gaussian mechanism (sensitivity 1 under add/remove
    neighbours) from ``share`` of the remaining zCDP budget; at least 1.

    Used wherever a generator needs the size of the private table to plan (sampling rates,
    step counts, frequencies): the exact count is never used or published."""
    rho = ledger.remaining_rho(share)
    sigma = 1.0 / math.sqrt(2.0 * rho)
    noisy = gaussian_mechanism(float(count), noise_multiplier=sigma, sensitivity=1.0,
                               ledger=ledger, label=label)
    return max(int(round(float(noisy))), 1)
