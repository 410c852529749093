"""Schema inference: free (reads private data, warns) or differentially private.

DP path: bounds from a thresholded noisy histogram over a fixed geometric grid (the outer edges
of the bins whose noisy count clears the threshold), category sets from thresholded Gaussian
counts (Gopi et al. 2020). Noise comes from the ledger's secret source. Column names and dtypes
are treated as public metadata.
"""
from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy.special import ndtri

from synthscape.privacy.events import GaussianEvent, ThresholdGaussianEvent
from synthscape.privacy.ledger import PrivacyLedger
from synthscape.schema.column import Column
from synthscape.schema.table import TableSchema

# A data-independent candidate grid for bounds: 0 and +-10^(k/50), k from -150 to 550
# (1e-3 .. 1e11, steps of about 4.7%; datetimes are epoch seconds, 1e11 s is past year 5000).
_POS = 10.0 ** (np.arange(-150, 551) / 50.0)
GRID = np.concatenate([-_POS[::-1], [0.0], _POS])


def _kind(s: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(s):
        return "boolean"
    if pd.api.types.is_datetime64_any_dtype(s):
        return "datetime"
    if pd.api.types.is_numeric_dtype(s):
        return "numerical"
    return "categorical"


def infer_free(df: pd.DataFrame, *, max_categories: int, name: str) -> TableSchema:
    cols = []
    for c in df.columns:
        s = df[c]
        kind = _kind(s)
        nullable = bool(s.isna().any())
        if kind == "numerical":
            v = s.dropna().astype(float)
            lo, hi = float(v.min()), float(v.max())
            if lo == hi:
                hi = lo + 1.0
            integer = bool(np.all(np.mod(v, 1) == 0))
            cols.append(Column(name=c, kind=kind, lower=lo, upper=hi, integer=integer,
                               nullable=nullable))
        elif kind == "datetime":
            v = s.dropna()
            cols.append(Column(name=c, kind=kind, lower=v.min().isoformat(),
                               upper=(v.max() + pd.Timedelta(seconds=1)).isoformat(),
                               nullable=nullable))
        elif kind == "boolean":
            cols.append(Column(name=c, kind=kind, nullable=nullable))
        else:
            cats = sorted(pd.unique(s.dropna()), key=str)
            if len(cats) > max_categories and len(cats) > 0.5 * len(s):
                cols.append(Column(name=c, kind="id", nullable=nullable))
            else:
                cols.append(Column(name=c, kind="categorical", categories=tuple(cats),
                                   nullable=nullable))
    return TableSchema(columns=tuple(cols), name=name)


def grid_counts(x: np.ndarray) -> np.ndarray:
    """Integer histogram of ``x`` over GRID (values outside fall into the outer bins)."""
    return np.bincount(np.clip(np.searchsorted(GRID, x, side="right") - 1, 0, len(GRID) - 2),
                       minlength=len(GRID) - 1)


def as_float(s: pd.Series, kind: str) -> np.ndarray:
    """Non-missing values of a numerical or datetime column as floats (epoch seconds)."""
    v = s.dropna()
    return ((v - pd.Timestamp(0)) / pd.Timedelta(seconds=1)).to_numpy(float) \
        if kind == "datetime" else v.to_numpy(float)


def category_counts(s: pd.Series, *, sort: bool = True) -> pd.Series:
    """Counts of each non-missing value as a string; ``sort``: most frequent first, ties in
    order of first appearance (the order in which DP inference draws the categories' noise)."""
    return s.dropna().astype(str).value_counts(sort=sort)


def _dp_bounds(counts: np.ndarray, sigma: float, ledger, label: str) -> tuple[float, float]:
    """Noisy histogram over GRID; bounds = outer edges of the bins whose noisy count clears a
    threshold with a 5% chance of any false bin over the whole grid (sensitivity 1)."""
    ledger.spend(GaussianEvent(noise_multiplier=sigma, label=label))
    counts = np.asarray(counts).astype(float)
    noisy = counts + sigma * ledger.noise.standard_normal(counts.shape)
    tau = sigma * float(ndtri(1 - 0.05 / len(counts)))
    kept = np.flatnonzero(noisy > tau)
    if kept.size == 0:
        raise ValueError(
            f"{label}: too few rows to find bounds under this budget (threshold {tau:.0f} rows "
            f"per bin); declare the bounds in the schema"
        )
    return float(GRID[kept[0]]), float(GRID[kept[-1] + 1])


def infer_dp(
    df: pd.DataFrame,
    *,
    ledger: PrivacyLedger,
    rho: float | None,
    name: str,
    threshold_delta_share: float = 0.01,
) -> TableSchema:
    """Spend ``rho`` (default: the whole remaining budget) to infer bounds and categories."""
    return infer_dp_counts(
        {c: df[c].iloc[:0] for c in df.columns},
        lambda c, kind: grid_counts(as_float(df[c], kind)),
        lambda c: category_counts(df[c]),
        ledger=ledger, rho=rho, name=name, threshold_delta_share=threshold_delta_share)


def infer_dp_counts(
    meta: dict[str, pd.Series],
    numeric: Callable[[str, str], np.ndarray],
    categories: Callable[[str], pd.Series],
    *,
    ledger: PrivacyLedger,
    rho: float | None,
    name: str,
    threshold_delta_share: float = 0.01,
) -> TableSchema:
    """DP inference from counts: ``meta`` maps each column to an (empty) series of its dtype,
    ``numeric(column, kind)`` gives its GRID histogram and ``categories(column)`` its
    ``category_counts``; in memory or measured out of core, the same integers give the same
    schema under the same noise stream."""
    kinds = {c: _kind(s) for c, s in meta.items()}
    n_meas = sum(1 for k in kinds.values() if k != "boolean")
    if rho is None:
        rho = ledger.remaining_rho() * 0.99
    if n_meas == 0:
        return TableSchema(columns=tuple(Column(name=c, kind="boolean", nullable=True)
                                         for c in meta), name=name)
    rho_each = rho / n_meas
    n_cat = sum(1 for k in kinds.values() if k == "categorical")
    delta_each = ledger.delta * threshold_delta_share / max(n_cat, 1)
    cols = []
    for c in meta:
        kind = kinds[c]
        if kind == "boolean":
            cols.append(Column(name=c, kind="boolean", nullable=True))
            continue
        if kind in ("numerical", "datetime"):
            lo, hi = _dp_bounds(numeric(c, kind), 1.0 / math.sqrt(2 * rho_each), ledger,
                                f"bounds:{c}")
            if kind == "datetime":
                cols.append(Column(name=c, kind="datetime", nullable=True,
                                   lower=pd.Timestamp(lo, unit="s").isoformat(),
                                   upper=pd.Timestamp(hi, unit="s").isoformat()))
            else:
                integer = pd.api.types.is_integer_dtype(meta[c])
                cols.append(Column(name=c, kind="numerical", lower=lo, upper=hi,
                                   integer=integer, nullable=True))
            continue
        sigma = 1.0 / math.sqrt(2 * rho_each)
        ledger.spend(ThresholdGaussianEvent(noise_multiplier=sigma, delta=delta_each,
                                            label=f"categories:{c}"))
        counts = categories(c)
        noisy = counts.to_numpy(float) + sigma * ledger.noise.standard_normal(len(counts))
        tau = 1.0 + sigma * float(ndtri(1 - delta_each))
        keep = sorted(counts.index[noisy > tau].tolist())
        if not keep:
            raise ValueError(
                f"column '{c}': no category is frequent enough to be released under this "
                f"budget (threshold {tau:.1f} rows); declare its categories in the schema"
            )
        cols.append(Column(name=c, kind="categorical", categories=tuple(keep), nullable=True))
    return TableSchema(columns=tuple(cols), name=name)
