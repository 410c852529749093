"""Gower-style points for nearest-neighbour attacks: numbers scaled by their range over the
tables, categories one-hot at 1/2 so that the L1 distance counts a mismatch as 1."""
from __future__ import annotations

import numpy as np
import pandas as pd

from synthscape.evaluation._encode import codes, numeric
from synthscape.schema import TableSchema


def gower_points(tables: list[pd.DataFrame], schema: TableSchema,
                 columns: list[str]) -> list[np.ndarray]:
    """Encode each table on ``columns`` with ranges taken over all the tables."""
    outs: list[list[np.ndarray]] = [[] for _ in tables]
    for name in columns:
        col = schema[name]
        if col.kind in ("numerical", "datetime"):
            vals = [numeric(df[name], col) for df in tables]
            allv = np.concatenate(vals)
            allv = allv[~np.isnan(allv)]
            lo, hi = (allv.min(), allv.max()) if len(allv) else (0.0, 1.0)
            span = hi - lo if hi > lo else 1.0
            for out, v in zip(outs, vals):
                out.append(np.nan_to_num((v - lo) / span, nan=-1.0)[:, None])
        else:
            k = len(col.values) + 1
            for out, df in zip(outs, tables):
                onehot = np.zeros((len(df), k))
                onehot[np.arange(len(df)), codes(df[name], col)] = 0.5
                out.append(onehot)
    return [np.hstack(o) if o else np.zeros((len(t), 0)) for o, t in zip(outs, tables)]


def neighbours(reference: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` nearest reference rows (L1) of each query."""
    from sklearn.neighbors import NearestNeighbors

    k = min(k, len(reference))
    return NearestNeighbors(n_neighbors=k, metric="manhattan", algorithm="brute").fit(reference)\
        .kneighbors(queries, return_distance=False)
