"""Marginal similarity: mean total-variation distance of one-way and two-way marginals.

Numerical and datetime columns are binned on the schema's bounds (uniform bins), so the score
depends only on the schema and the two tables.
"""
from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd

from synthscape.schema import TableSchema


def discretize(df: pd.DataFrame, schema: TableSchema, bins: int = 20) -> pd.DataFrame:
    """Integer codes per modelled column (missing values get their own code)."""
    out = {}
    for c in schema.modelled():
        s = df[c.name]
        if c.kind in ("numerical", "datetime"):
            lo, hi = c.bounds
            x = (pd.to_datetime(s) - pd.Timestamp(0)).dt.total_seconds().to_numpy(float) \
                if c.kind == "datetime" \
                else pd.to_numeric(s, errors="coerce").to_numpy(float)
            code = np.clip(((x - lo) / (hi - lo) * bins).astype("float"), 0, bins - 1)
            code = np.where(np.isnan(x), bins, np.floor(np.nan_to_num(code)))
            out[c.name] = code.astype(int)
        else:
            values = list(c.values)
            lookup = {v: i for i, v in enumerate(values)}
            other = len(values)  # the code of values outside the categories and of nulls
            codes = s.map(lambda v, lookup=lookup, other=other: lookup.get(v, other))
            out[c.name] = codes.fillna(other).astype(int).to_numpy()
    return pd.DataFrame(out)


def _tvd(a: np.ndarray, b: np.ndarray) -> float:
    return 0.5 * float(np.abs(a - b).sum())


def _hist(codes: np.ndarray, size: int) -> np.ndarray:
    h = np.bincount(codes, minlength=size).astype(float)
    return h / max(h.sum(), 1)


def one_way_tvd(real: pd.DataFrame, syn: pd.DataFrame, schema: TableSchema,
                bins: int = 20) -> dict[str, float]:
    r, s = discretize(real, schema, bins), discretize(syn, schema, bins)
    out = {}
    for c in r.columns:
        size = int(max(r[c].max(), s[c].max() if len(s) else 0)) + 1
        out[c] = _tvd(_hist(r[c].to_numpy(), size), _hist(s[c].to_numpy(), size))
    return out


def two_way_tvd(real: pd.DataFrame, syn: pd.DataFrame, schema: TableSchema,
                bins: int = 20) -> dict[tuple[str, str], float]:
    r, s = discretize(real, schema, bins), discretize(syn, schema, bins)
    out = {}
    for a, b in combinations(r.columns, 2):
        size_b = int(max(r[b].max(), s[b].max() if len(s) else 0)) + 1
        size_a = int(max(r[a].max(), s[a].max() if len(s) else 0)) + 1
        rc = r[a].to_numpy() * size_b + r[b].to_numpy()
        sc = s[a].to_numpy() * size_b + s[b].to_numpy()
        out[(a, b)] = _tvd(_hist(rc, size_a * size_b), _hist(sc, size_a * size_b))
    return out


def marginal_scores(real: pd.DataFrame, syn: pd.DataFrame, schema: TableSchema,
                    bins: int = 20) -> dict[str, float]:
    one = one_way_tvd(real, syn, schema, bins)
    two = two_way_tvd(real, syn, schema, bins)
    return {
        "one_way_tvd_mean": float(np.mean(list(one.values()))) if one else 0.0,
        "two_way_tvd_mean": float(np.mean(list(two.values()))) if two else 0.0,
        "one_way_tvd_max": float(np.max(list(one.values()))) if one else 0.0,
        "two_way_tvd_max": float(np.max(list(two.values()))) if two else 0.0,
    }
