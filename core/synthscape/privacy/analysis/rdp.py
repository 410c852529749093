"""Renyi-DP curves of the mechanisms and the conversion to (epsilon, delta)."""
from __future__ import annotations

import numpy as np
from scipy.special import logsumexp

# Orders: opacus' default grid extended to large orders, which small budgets need.
ORDERS: np.ndarray = np.array(
    [1 + x / 10.0 for x in range(1, 100)]
    + list(range(12, 64))
    + list(range(64, 256, 8))
    + list(np.geomspace(256, 1e5, 40)),
    dtype=float,
)


def gaussian_rdp(noise_multiplier: float, orders: np.ndarray = ORDERS) -> np.ndarray:
    """Mironov 2017, Prop. 7: RDP of the Gaussian mechanism is alpha / (2 sigma^2)."""
    return orders / (2.0 * noise_multiplier**2)


def zcdp_rdp(rho: float, orders: np.ndarray = ORDERS) -> np.ndarray:
    """Bun and Steinke 2016, Def. 1.1: rho-zCDP means RDP alpha * rho at every order."""
    return orders * rho


def laplace_rdp(epsilon: float, orders: np.ndarray = ORDERS) -> np.ndarray:
    """Mironov 2017, Table II: Laplace mechanism with scale 1/epsilon (sensitivity 1)."""
    a = orders
    terms = np.stack(
        [np.log(a / (2 * a - 1)) + (a - 1) * epsilon, np.log((a - 1) / (2 * a - 1)) - a * epsilon]
    )
    return np.minimum(logsumexp(terms, axis=0) / (a - 1), epsilon)


def exponential_rdp(epsilon: float, orders: np.ndarray = ORDERS) -> np.ndarray:
    """Cesar and Rogers 2021, Lemma 3.2: epsilon-bounded-range implies (epsilon^2/8)-zCDP."""
    return np.minimum(orders * epsilon**2 / 8.0, epsilon)


def eps_from_rdp(rdp: np.ndarray, delta: float, orders: np.ndarray = ORDERS) -> float:
    """Balle et al. 2020, Thm. 21 (as in opacus): the tightest epsilon over the orders."""
    if delta <= 0:
        return float("inf")
    rdp = np.asarray(rdp, dtype=float)
    eps = rdp - (np.log(delta) + np.log(orders)) / (orders - 1) + np.log((orders - 1) / orders)
    eps = np.where(np.isnan(eps), np.inf, eps)
    return float(max(np.min(eps), 0.0))
