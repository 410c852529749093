"""Shared parts of the marginal-based generators (independent, mst, aim).

- the common parameters and the discretizer step (bins from the schema, or DP quantile bins paid
  from ``binning_share`` of the budget);
- the integer marginals they measure (``Marginals``: from codes in memory, or measured from a
  Parquet dataset out of core by :mod:`synthscape.compute.measure` when ``fit`` gets a path);
- noisy marginal measurements spent through the ledger;
- projection of a noisy count vector onto the scaled simplex (least squares, non-negative);
- vectorised inverse-CDF sampling, unconditional and conditional on a parent column.
"""
from __future__ import annotations

import math
from collections.abc import Iterable
from os import PathLike
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

    def fit(self, df: Any, schema: TableSchema | None = None, *,
            ledger: PrivacyLedger | None = None) -> MarginalGenerator:
        """As :meth:`Generator.fit`; ``df`` may also be a Parquet dataset (a folder, a file, a
        glob or an fsspec URL), whose marginals are then measured out of core on the active
        execution setting (:mod:`synthscape.compute`): the same integers, so the same noisy
        model under the same secret noise key as fitting the table read into memory."""
        if isinstance(df, (str, PathLike)):
            from synthscape.compute.measure import fit_source

            return fit_source(self, df, schema, ledger=ledger)
        super().fit(df, schema, ledger=ledger)
        return self

    def _marginals(self, data: pd.DataFrame, schema: TableSchema,
                   ledger: PrivacyLedger) -> Marginals:
        """Build ``self.disc_``; the integer marginals of ``data``, or of the Parquet source of
        an out-of-core fit (``data`` is then an empty frame of the source's dtypes)."""
        self._fit_bins(data, schema, ledger)
        source = getattr(self, "_source", None)
        if source is not None:
            return source.marginals(self.disc_)
        return Marginals(self.disc_.sizes, self.disc_.encode(data))

    def _discretize(self, data: pd.DataFrame, schema: TableSchema,
                    ledger: PrivacyLedger) -> np.ndarray:
        """Build ``self.disc_`` and return the codes of ``data`` (in memory only)."""
        if getattr(self, "_source", None) is not None:
            from synthscape.errors import ParameterError

            raise ParameterError(f"{self.name} reads its codes in memory and cannot fit from a "
                                 f"Parquet dataset yet; pass a DataFrame")
        self._fit_bins(data, schema, ledger)
        return self.disc_.encode(data)

    def _fit_bins(self, data: pd.DataFrame, schema: TableSchema, ledger: PrivacyLedger) -> None:
        rho = ledger.remaining_rho(self.binning_share) if self.binning == "quantile" else None
        self.disc_ = Discretizer.fit(data, schema, bins=self.bins, method=self.binning,
                                     ledger=ledger, rho=rho)

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


class Marginals:
    """Integer contingency tables of the discretised columns, cached. In memory they are
    counted from ``codes`` on demand; out of core a subclass measures the cliques given to
    :meth:`prepare` in one pass and answers sub-cliques by summing (the same integers)."""

    def __init__(self, sizes: list[int], codes: np.ndarray):
        self.sizes = list(sizes)
        self.codes = codes
        self._cache: dict[tuple[int, ...], np.ndarray] = {}

    def prepare(self, cliques: Iterable[tuple[int, ...]]) -> None:
        """Declare the largest cliques the fit will ask for (in memory: nothing to do)."""

    def counts(self, clique: tuple[int, ...]) -> np.ndarray:
        """Counts of ``clique`` (int64, axes in the clique's order)."""
        key = tuple(clique)
        if key not in self._cache:
            self._cache[key] = clique_counts(self.codes, self.sizes, key)
        return self._cache[key]

    def recoded(self, codes: np.ndarray, fine: Discretizer, coarse: Discretizer) -> Marginals:
        """The marginals after merging bins (``fine`` -> ``coarse``; ``codes`` recoded)."""
        return Marginals(coarse.sizes, codes)


def bin_lookup(fine: Discretizer, coarse: Discretizer) -> list[np.ndarray | None]:
    """Per column, the coarse code of each fine code (None where the bins are unchanged);
    coarse edges are a subset of the fine ones."""
    out: list[np.ndarray | None] = []
    for f, c in zip(fine.columns, coarse.columns):
        if c is f or c.values is not None:
            out.append(None)
            continue
        k = c.n_values
        group = np.minimum(np.searchsorted(c.bin_edges, f.bin_edges[:-1], side="right") - 1,
                           k - 1)
        out.append(np.concatenate([group, [k]]) if f.nullable else group)
    return out


def clique_counts(codes: np.ndarray, sizes: list[int], clique: tuple[int, ...]) -> np.ndarray:
    """Contingency table of the columns ``clique`` of ``codes`` (int64)."""
    shape = [sizes[a] for a in clique]
    if len(clique) == 1:
        flat = codes[:, clique[0]]
    else:
        flat = np.ravel_multi_index([codes[:, a] for a in clique], shape)
    return np.bincount(flat, minlength=int(np.prod(shape))).reshape(shape)


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
