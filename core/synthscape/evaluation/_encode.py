"""Numeric encodings of a table, driven by the schema only (never by the data).

Numerical and datetime columns are scaled to [0, 1] on the declared bounds; categorical and
boolean columns are one-hot encoded on the declared values, scaled by 1/sqrt(2) so that two
different categories are at Euclidean distance 1, like a numerical difference over the whole
range. Nullable columns get a missing-indicator. Id columns are left out.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from synthscape.schema import Column, TableSchema

_ONE_HOT = 1.0 / np.sqrt(2.0)


def numeric(s: pd.Series, col: Column) -> np.ndarray:
    """A numerical or datetime column as floats (datetime in epoch seconds); NaN for missing."""
    if col.kind == "datetime":
        ts = pd.to_datetime(s, errors="coerce")
        out = (ts - pd.Timestamp("1970-01-01")).dt.total_seconds()
        return out.to_numpy(float)
    if col.kind == "boolean":
        return s.map(lambda v: np.nan if pd.isna(v) else float(bool(v))).to_numpy(float)
    return pd.to_numeric(s, errors="coerce").to_numpy(float)


def codes(s: pd.Series, col: Column) -> np.ndarray:
    """Integer codes of a discrete column on its declared values; len(values) for missing."""
    values = list(col.values)
    missing = s.isna().to_numpy()
    if col.kind == "boolean":
        out = np.where(missing, 0, s.to_numpy(object)).astype(bool).astype(int)
    else:
        out = _lookup_codes(s, {v: i for i, v in enumerate(values)}, len(values))
    return np.where(missing, len(values), out).astype(int)


def _lookup_codes(s: pd.Series, lookup: dict, unknown: int) -> np.ndarray:
    """Map each value through ``lookup`` once per distinct value (fast on long columns)."""
    inverse, uniques = pd.factorize(s, use_na_sentinel=True)
    table = np.array([lookup.get(v, unknown) for v in uniques] + [unknown], dtype=int)
    return table[inverse]  # the sentinel -1 picks the trailing ``unknown``


def columns_of(schema: TableSchema, exclude: tuple[str, ...] = ()) -> list[Column]:
    return [c for c in schema.modelled() if c.name not in exclude]


def encode(df: pd.DataFrame, schema: TableSchema, exclude: tuple[str, ...] = ()) -> np.ndarray:
    """Rows of ``df`` as points in [0, 1]^d (see the module docstring)."""
    parts: list[np.ndarray] = []
    for col in columns_of(schema, exclude):
        s = df[col.name]
        if col.kind in ("numerical", "datetime"):
            lo, hi = col.bounds
            x = (numeric(s, col) - lo) / (hi - lo)
            miss = np.isnan(x)
            parts.append(np.clip(np.nan_to_num(x, nan=0.0), 0.0, 1.0)[:, None])
            if col.nullable:
                parts.append(miss.astype(float)[:, None])
        else:
            k = len(col.values) + (1 if col.nullable else 0)
            c = np.minimum(codes(s, col), k - 1) if not col.nullable else codes(s, col)
            onehot = np.zeros((len(df), k))
            onehot[np.arange(len(df)), np.clip(c, 0, k - 1)] = _ONE_HOT
            parts.append(onehot)
    if not parts:
        return np.zeros((len(df), 0))
    return np.hstack(parts)


def subsample(df: pd.DataFrame, n: int, rng: np.random.Generator) -> pd.DataFrame:
    """At most ``n`` rows, drawn without replacement (the same rows for the same rng state)."""
    if len(df) <= n:
        return df.reset_index(drop=True)
    idx = np.sort(rng.choice(len(df), size=n, replace=False))
    return df.iloc[idx].reset_index(drop=True)
