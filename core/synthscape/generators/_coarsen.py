"""Budget-aware resolution of numerical columns for ``aim``, from its own noisy one-way marginals.

Why: AIM scores a candidate marginal ``r`` by its L1 error minus the noise it expects to add,
``sqrt(2/pi) sigma n_r`` (n_r cells). With 32 bins per numerical column, every pair with a numerical
column has 64+ cells; at small budgets (sigma ~ 90 at epsilon 0.5 on 8,000 rows) that penalty
(~4,600) dwarfs the error such a pair removes (~400 for ISLR/Default's default x balance, a 3%
class), so the pair that carries the target's signal loses to tiny categorical pairs and is picked
only when the exponential mechanism's near-uniform draw happens to pick it: a lottery, hence the
bimodal TSTR (0.3-0.5 or 0.95) seed to seed.

Fix (post-processing, nothing spent): the one-way marginals are measured at the fine resolution
(``bins``); then each numerical column's fine bins are grouped into ``b = total / (MIN_SIGMAS x
sigma)`` equal-width bins, at least ``MIN_BINS`` and at most the fine ones (``total`` is the
noisy row count the one-way marginals imply). ``MIN_SIGMAS = 10``: a bin of 10 sigma rows keeps
the cell of a 10% class inside it one noise sd above zero, so two-way marginals with such columns
stay worth measuring. ``MIN_BINS = 8`` keeps a column's shape when the noise would leave it almost
nothing (small tables, where every choice is noise-dominated). At large budgets nothing is merged.
The merged one-way measurement is the sum of its fine cells (variance sigma^2 x cells merged),
and the fine noisy histogram, projected onto the simplex (least squares, so noise adds no mass
to empty cells), shapes values inside each merged bin when sampling (``ColumnBins.fine_weights``).
"""
from __future__ import annotations

import numpy as np

from synthscape.generators._marginal import project_simplex
from synthscape.transforms.discretizer import ColumnBins, Discretizer

MIN_SIGMAS = 10.0
MIN_BINS = 8


def coarsen(disc: Discretizer, codes: np.ndarray, ys: list[np.ndarray], sigma: float,
            bins: int) -> tuple[Discretizer, np.ndarray, list[np.ndarray], list[np.ndarray]]:
    """Merge numerical bins by the rule above. Returns the coarse discretizer, the recoded
    ``codes``, the merged one-way measurements and their per-cell noise sds."""
    total = float(np.median([max(y.sum(), 1.0) for y in ys]))
    cols, new_codes, new_ys, sds = [], codes.copy(), [], []
    for j, (c, y) in enumerate(zip(disc.columns, ys)):
        if c.values is not None or c.fine_weights is not None or c.n_values <= 2:
            cols.append(c)
            new_ys.append(y)
            sds.append(np.full(y.size, sigma))
            continue
        k = c.n_values
        b = int(np.clip(total // (MIN_SIGMAS * sigma), min(MIN_BINS, k), k))
        group = np.arange(k) * b // k  # b equal-width groups of fine bins
        n_groups = int(group[-1]) + 1
        starts = np.flatnonzero(np.diff(np.concatenate([[-1], group])))
        edges = np.concatenate([c.bin_edges[starts], c.bin_edges[-1:]])
        fine = project_simplex(y[:k], y[:k].sum()) + 1e-9  # least squares: no mass from noise
        lookup = np.concatenate([group, [n_groups]]) if c.nullable else group
        new_codes[:, j] = lookup[codes[:, j]]
        merged = np.bincount(lookup, weights=y, minlength=n_groups + int(c.nullable))
        width = np.bincount(lookup, minlength=n_groups + int(c.nullable))
        cols.append(ColumnBins(c.name, c.kind, c.nullable, edges=edges,
                               fine_edges=c.bin_edges, fine_weights=fine / fine.sum()))
        new_ys.append(merged)
        sds.append(sigma * np.sqrt(width))
    return Discretizer(cols), new_codes, new_ys, sds
