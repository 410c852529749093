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


def skellam_rdp(mu: float, l1: float, l2: float, orders: np.ndarray = ORDERS) -> np.ndarray:
    """Agarwal, Kairouz and Liu 2021 ("The Skellam Mechanism for Differentially Private Federated
    Learning", Thm. 3.5): integer noise Poisson(mu) - Poisson(mu) (variance 2 mu) on a query of
    L1 sensitivity ``l1`` and L2 sensitivity ``l2`` is (alpha, eps)-RDP for integer alpha > 1 with

        eps(alpha) = alpha l2^2 / (4 mu) + min(((2 alpha - 1) l2^2 + 6 l1) / (16 mu^2),
                                               3 l1 / (4 mu)).

    The first term is the Gaussian's at variance 2 mu; the correction here uses 2 alpha in place
    of 2 alpha - 1 (larger, so still a bound). Between integer orders a < alpha < a + 1 the
    bound interpolates (alpha - 1) eps(alpha) linearly, which is valid because (alpha - 1) times
    the Renyi divergence is convex in alpha (van Erven and Harremoes 2014, Cor. 2); below order 2
    that gives eps(2)."""
    def at(a: np.ndarray) -> np.ndarray:
        return a * l2**2 / (4 * mu) + np.minimum((2 * a * l2**2 + 6 * l1) / (16 * mu**2),
                                                 3 * l1 / (4 * mu))

    o = np.asarray(orders, float)
    lo = np.maximum(np.floor(o), 1.0)
    hi = np.maximum(np.ceil(o), 2.0)
    lam = np.where(hi > lo, (hi - o) / np.where(hi > lo, hi - lo, 1.0), 0.0)
    g_lo = np.where(lo > 1, (lo - 1) * at(lo), 0.0)
    g = lam * g_lo + (1 - lam) * (hi - 1) * at(hi)
    return np.where(o >= 2, g / np.maximum(o - 1, 1e-12), at(np.full_like(o, 2.0)))


def eps_from_rdp(rdp: np.ndarray, delta: float, orders: np.ndarray = ORDERS) -> float:
    """Balle et al. 2020, Thm. 21 (as in opacus): the tightest epsilon over the orders."""
    if delta <= 0:
        return float("inf")
    rdp = np.asarray(rdp, dtype=float)
    eps = rdp - (np.log(delta) + np.log(orders)) / (orders - 1) + np.log((orders - 1) / orders)
    eps = np.where(np.isnan(eps), np.inf, eps)
    return float(max(np.min(eps), 0.0))
