"""Linkability risk in the manner of anonymeter (Giomi et al. 2023, Sec. 4.2): an attacker holds
two disjoint sets of columns of a target row and links them through the synthetic data; the
attack succeeds when the nearest synthetic rows on each set share a row. Training rows are the
targets, test rows the control, random links the baseline. By default the modelled columns are
split alternately into the two sets."""
from __future__ import annotations

import numpy as np
import pandas as pd

from synthscape.evaluation.attacks._gower import gower_points, neighbours
from synthscape.evaluation.attacks._risk import summary
from synthscape.schema import TableSchema


def _links(syn: tuple, targets: tuple, k: int) -> np.ndarray:
    a = neighbours(syn[0], targets[0], k)
    b = neighbours(syn[1], targets[1], k)
    return np.array([len(np.intersect1d(x, y)) > 0 for x, y in zip(a, b)])


def linkability(train: pd.DataFrame, test: pd.DataFrame, syn: pd.DataFrame, schema: TableSchema,
                rng: np.random.Generator, *, aux_cols: tuple[list[str], list[str]] | None = None,
                n_attacks: int = 500, n_neighbors: int = 1, confidence: float = 0.95) -> dict:
    names = [c.name for c in schema.modelled()]
    if aux_cols is None:  # alternate, so that both halves usually hold a numerical column
        aux_cols = (names[0::2], names[1::2])
    n = int(min(n_attacks, len(train), len(test)))
    tr = train.iloc[rng.choice(len(train), n, replace=False)].reset_index(drop=True)
    te = test.iloc[rng.choice(len(test), n, replace=False)].reset_index(drop=True)
    pts = [gower_points([syn, tr, te], schema, cols) for cols in aux_cols]
    syn_pts = (pts[0][0], pts[1][0])
    success = _links(syn_pts, (pts[0][1], pts[1][1]), n_neighbors)
    control = _links(syn_pts, (pts[0][2], pts[1][2]), n_neighbors)
    k = min(n_neighbors, len(syn))
    baseline = np.array([len(np.intersect1d(rng.choice(len(syn), k, replace=False),
                                            rng.choice(len(syn), k, replace=False))) > 0
                         for _ in range(n)])
    out = summary("linkability", n, int(success.sum()), int(baseline.sum()),
                  int(control.sum()), confidence)
    out["linkability_n_attacks"] = n
    return out
