"""Noise mechanisms. Each call spends its event through the ledger before releasing anything.

``secure=True`` draws noise from the operating system's cryptographic source (``os.urandom``)
instead of the seeded generator; tests and reproducible research use the seeded path.
"""
from __future__ import annotations

import os

import numpy as np
from scipy.special import ndtri

from synthscape.privacy.events import ExponentialEvent, GaussianEvent, LaplaceEvent
from synthscape.privacy.ledger import PrivacyLedger


def _secure_uniform(size: int) -> np.ndarray:
    raw = np.frombuffer(os.urandom(8 * size), dtype=np.uint64)
    # 53 random bits -> (0, 1), never exactly 0 or 1.
    return ((raw >> np.uint64(11)).astype(np.float64) + 0.5) / float(1 << 53)


def standard_normal(shape, rng: np.random.Generator, secure: bool = False) -> np.ndarray:
    size = int(np.prod(shape)) if np.ndim(shape) else int(shape)
    if secure:
        return ndtri(_secure_uniform(size)).reshape(shape)
    return rng.standard_normal(shape)


def gaussian_mechanism(
    values,
    *,
    noise_multiplier: float,
    sensitivity: float,
    ledger: PrivacyLedger,
    rng: np.random.Generator,
    label: str,
    secure: bool = False,
) -> np.ndarray:
    """Release ``values + N(0, (noise_multiplier * sensitivity)^2)`` after spending the event."""
    ledger.spend(GaussianEvent(noise_multiplier=noise_multiplier, label=label))
    values = np.asarray(values, dtype=float)
    return values + noise_multiplier * sensitivity * standard_normal(values.shape, rng, secure)


def laplace_mechanism(
    values,
    *,
    epsilon: float,
    sensitivity: float,
    ledger: PrivacyLedger,
    rng: np.random.Generator,
    label: str,
    secure: bool = False,
) -> np.ndarray:
    ledger.spend(LaplaceEvent(epsilon=epsilon, label=label))
    values = np.asarray(values, dtype=float)
    if secure:
        u = _secure_uniform(values.size).reshape(values.shape) - 0.5
        noise = -np.sign(u) * np.log1p(-2 * np.abs(u))
    else:
        noise = rng.laplace(size=values.shape)
    return values + (sensitivity / epsilon) * noise


def exponential_mechanism(
    scores,
    *,
    epsilon: float,
    sensitivity: float,
    ledger: PrivacyLedger,
    rng: np.random.Generator,
    label: str,
    secure: bool = False,
) -> int:
    """McSherry and Talwar 2007, via the Gumbel-max trick: argmax of eps/(2 s) * score + Gumbel."""
    ledger.spend(ExponentialEvent(epsilon=epsilon, label=label))
    scores = np.asarray(scores, dtype=float)
    u = _secure_uniform(scores.size) if secure else rng.uniform(size=scores.size)
    u = np.clip(u, 1e-300, 1 - 1e-16)
    gumbel = -np.log(-np.log(u))
    return int(np.argmax(epsilon / (2 * sensitivity) * scores + gumbel))
