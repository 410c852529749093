"""Shared parts of the marginal-based generators (independent, mst, aim).

- the common parameters and the discretizer step (bins from the schema, or DP quantile bins paid
  from ``binning_share`` of the budget);
- noisy marginal measurements spent through the ledger;
- projection of a noisy count vector onto the scaled simplex (least squares, non-negative);
- vectorised inverse-CDF sampling, unconditional and conditional on a parent column.
"""
from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from synthscape.generators._params import Interval, Options
from synthscape.generators.base import Generator
from synthscape.privacy.ledger import PrivacyLedger
from synthscape.privacy.mechanisms import gaussian_mechanism
from synthscape.schema import TableSchema
from synthscape.transforms.discretizer import METHODS, Discretizer


class MarginalGenerator(Generator):
    """Base for generators that model discretised marginals measured with Gaussian noise."""

    private: ClassVar[bool] = True
    _parameter_constraints: ClassVar[dict[str, list]] = {
        "bins": [Interval(int, 2, 1024, closed="both")],
        "binning": [Options(METHODS)],
        "binning_share": [Interval(float, 0, 1, closed="neither")],
    }

    def __init__(self, epsilon: float | None = 1.0, delta: float = 1e-6, *, bins: int = 32,
                 binning: str = "uniform", binning_share: float = 0.1, accountant: str = "rdp",
                 out_of_bounds: str = "error", schema_share: float = 0.1,
                 seed: int | None = None):
        self.epsilon = epsilon
        self.delta = delta
        self.bins = bins
        self.binning = binning
        self.binning_share = binning_share
        self.accountant = accountant
        self.out_of_bounds = out_of_bounds
        self.schema_share = schema_share
        self.seed = seed

    def _validate_params(self) -> None:
        super()._validate_params()
        if self.epsilon is None:
            from synthscape.errors import ParameterError

            raise ParameterError(f"{type(self).__name__} is differentially private and needs "
                                 f"epsilon > 0 (e.g. epsilon=1.0)")

    def _discretize(self, data: pd.DataFrame, schema: TableSchema,
                    ledger: PrivacyLedger) -> np.ndarray:
        """Build ``self.disc_`` and return the codes of ``data``."""
        rho = ledger.remaining_rho(self.binning_share) if self.binning == "quantile" else None
        self.disc_ = Discretizer.fit(data, schema, bins=self.bins, method=self.binning,
                                     ledger=ledger, rho=rho)
        return self.disc_.encode(data)

    def _measure(self, counts: np.ndarray, sigma: float, ledger: PrivacyLedger,
                 label: str) -> np.ndarray:
        """Counts + N(0, sigma^2) per cell (L2 sensitivity 1 under add/remove one row)."""
        return gaussian_mechanism(counts, noise_multiplier=sigma, sensitivity=1.0,
                                  ledger=ledger, label=label)

    def _codes_of(self, conditions: dict[str, Any]) -> dict[int, int]:
        """``{column index: code}`` for fixed-value conditions."""
        names = self.disc_.names
        return {names.index(col): self.disc_.code_of(col, v) for col, v in conditions.items()}

    def _disc_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return self.disc_.get_state()

    def _set_disc_state(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self.disc_ = Discretizer.from_state(state["disc"], arrays)


def sigma_for(rho: float, count: int) -> float:
    """Noise multiplier so that ``count`` Gaussian releases cost ``rho`` in zCDP in total
    (Bun and Steinke 2016, Prop. 1.6: a sensitivity-1 Gaussian with std sigma is
    1/(2 sigma^2)-zCDP)."""
    return math.sqrt(count / (2.0 * rho))


def project_simplex(v: np.ndarray, total: float) -> np.ndarray:
    """Euclidean projection of ``v`` onto {x >= 0, sum x = total} (Duchi et al. 2008, Fig. 1)."""
    v = np.asarray(v, dtype=float).ravel()
    total = max(float(total), 1e-9)
    u = np.sort(v)[::-1]
    css = np.cumsum(u) - total
    idx = np.arange(1, len(u) + 1)
    k = idx[u - css / idx > 0][-1]
    tau = css[k - 1] / k
    return np.maximum(v - tau, 0.0)


def to_probs(v: np.ndarray, floor: float = 1e-9) -> np.ndarray:
    """Normalise non-negative weights, with a tiny floor so every cell stays possible."""
    w = np.asarray(v, dtype=float) + floor * max(float(np.sum(v)), 1.0) / max(len(v), 1)
    return w / w.sum()


def sample_codes(p: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` draws from the categorical distribution ``p`` (inverse CDF)."""
    cdf = np.cumsum(p)
    cdf /= cdf[-1]
    idx = np.searchsorted(cdf, rng.random(n), side="right")
    return np.minimum(idx, len(p) - 1, out=idx)


def sample_conditional(table: np.ndarray, parent: np.ndarray,
                       rng: np.random.Generator) -> np.ndarray:
    """One draw per row from ``table[parent[i], :]`` (rows are distributions), vectorised:
    row ``r``'s CDF is shifted by ``r`` so that one ``searchsorted`` serves every row."""
    k_p, k_c = table.shape
    table = np.where(table.sum(axis=1, keepdims=True) > 0, table, 1.0)  # empty row: uniform
    cdf = np.cumsum(table, axis=1)
    cdf = cdf / cdf[:, -1:]
    flat = (cdf + np.arange(k_p)[:, None]).ravel()
    flat[k_c - 1::k_c] = np.arange(1, k_p + 1)  # exact row ends
    q = rng.random(len(parent))
    np.add(q, parent, out=q)
    idx = guided_search(flat, q, k_p)
    idx -= parent * k_c
    return np.minimum(idx, k_c - 1, out=idx)


def guided_search(flat: np.ndarray, q: np.ndarray, span: int, per_unit: int = 64) -> np.ndarray:
    """``searchsorted(flat, q, side="right")`` for increasing ``flat`` in [0, span] and ``q`` in
    [0, span), through a guide table (Chen and Asau 1974): a table lookup, then a few steps."""
    grid = np.arange(span * per_unit + 1) / per_unit
    guide = np.searchsorted(flat, grid, side="right")
    idx = guide[np.minimum((q * per_unit).astype(np.int64), span * per_unit)]
    last = len(flat) - 1
    todo = np.flatnonzero(flat[np.minimum(idx, last)] <= q)
    while todo.size:  # step right until flat[idx] > q
        idx[todo] += 1
        keep = (idx[todo] <= last) & (flat[np.minimum(idx[todo], last)] <= q[todo])
        todo = todo[keep]
    return idx
