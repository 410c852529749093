"""Fidelity: column shapes, column-pair trends, the quality score, detection, alpha/beta.

Quality score as in SDMetrics' QualityReport: mean of the column-shape score (KS complement for
numerical/datetime, TV complement for categorical/boolean) and the pair-trend score (correlation
similarity for numerical pairs, contingency similarity for the others, numbers binned in 10 bins
of the real column; averaged over the pairs whose real association, |Pearson| or Cramer's V,
is at least 0.3, as SDMetrics does since 0.32). alpha-precision / beta-recall / authenticity:
Alaa et al. 2022, "How Faithful is your Synthetic Data?", Sec. 3 (here on the schema encoding,
without a learned embedding).
"""
from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd

from synthscape.evaluation._encode import codes, columns_of, encode, numeric, subsample
from synthscape.evaluation._threads import single_threaded
from synthscape.schema import Column, TableSchema

_CONTINUOUS = ("numerical", "datetime")
ASSOCIATION_THRESHOLD = 0.3  # SDMetrics' ColumnPairTrends scores only pairs this associated


def ks_complement(real: np.ndarray, syn: np.ndarray) -> float:
    """1 - the two-sample Kolmogorov-Smirnov statistic (missing values dropped)."""
    from scipy.stats import ks_2samp

    r, s = real[~np.isnan(real)], syn[~np.isnan(syn)]
    if len(r) == 0 or len(s) == 0:
        return float(len(r) == len(s))
    return 1.0 - float(ks_2samp(r, s).statistic)


def tv_complement(real: np.ndarray, syn: np.ndarray, size: int) -> float:
    """1 - total-variation distance between the category frequencies (missing is a category)."""
    p = np.bincount(real, minlength=size) / max(len(real), 1)
    q = np.bincount(syn, minlength=size) / max(len(syn), 1)
    return 1.0 - 0.5 * float(np.abs(p - q).sum())


def column_shapes(real: pd.DataFrame, syn: pd.DataFrame, schema: TableSchema) -> pd.DataFrame:
    rows = []
    for col in columns_of(schema):
        if col.kind in _CONTINUOUS:
            score = ks_complement(numeric(real[col.name], col), numeric(syn[col.name], col))
            metric = "KSComplement"
        else:
            size = len(col.values) + 1
            score = tv_complement(codes(real[col.name], col), codes(syn[col.name], col), size)
            metric = "TVComplement"
        rows.append({"column": col.name, "kind": col.kind, "metric": metric, "score": score})
    return pd.DataFrame(rows, columns=["column", "kind", "metric", "score"])


def _bins(real: pd.Series, syn: pd.Series, col: Column, n_bins: int = 10):
    """Discrete codes for a column: categories as they are, numbers in bins of the real data."""
    if col.kind not in _CONTINUOUS:
        return codes(real, col), codes(syn, col), len(col.values) + 1
    r, s = numeric(real, col), numeric(syn, col)
    finite = r[~np.isnan(r)]
    edges = np.histogram_bin_edges(finite if len(finite) else np.zeros(1), bins=n_bins)
    edges[0], edges[-1] = -np.inf, np.inf

    def cut(x: np.ndarray) -> np.ndarray:
        return np.where(np.isnan(x), n_bins, np.clip(np.digitize(x, edges[1:-1]), 0, n_bins - 1))

    return cut(r).astype(int), cut(s).astype(int), n_bins + 1


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    ok = ~(np.isnan(a) | np.isnan(b))
    if ok.sum() < 3 or np.std(a[ok]) == 0 or np.std(b[ok]) == 0:
        return float("nan")
    return float(np.corrcoef(a[ok], b[ok])[0, 1])


def cramers_v(a: np.ndarray, b: np.ndarray) -> float:
    """Cramer's V of two non-negative code arrays, without continuity correction (as
    scipy.stats.contingency.association); 0 when either has a single level."""
    ka, kb = int(a.max()) + 1, int(b.max()) + 1
    table = np.bincount(a * kb + b, minlength=ka * kb).reshape(ka, kb).astype(float)
    table = table[table.sum(1) > 0][:, table.sum(0) > 0]
    if min(table.shape) < 2:
        return 0.0
    n = table.sum()
    expected = np.outer(table.sum(1), table.sum(0)) / n
    chi2 = float(((table - expected) ** 2 / expected).sum())
    return float(np.sqrt(chi2 / (n * (min(table.shape) - 1))))


def pair_trends(real: pd.DataFrame, syn: pd.DataFrame, schema: TableSchema,
                threshold: float = ASSOCIATION_THRESHOLD) -> pd.DataFrame:
    """One row per column pair: the metric, the real and synthetic statistic, the score, the
    real association (|Pearson| or Cramer's V) and whether it meets ``threshold``."""
    cols = columns_of(schema)
    binned = {c.name: _bins(real[c.name], syn[c.name], c) for c in cols}
    rows = []
    for a, b in combinations(cols, 2):
        if a.kind in _CONTINUOUS and b.kind in _CONTINUOUS:
            rr = _pearson(numeric(real[a.name], a), numeric(real[b.name], b))
            rs = _pearson(numeric(syn[a.name], a), numeric(syn[b.name], b))
            if np.isnan(rr):
                continue  # SDMetrics skips pairs whose real correlation is undefined
            rs = 0.0 if np.isnan(rs) else rs
            rows.append({"column_1": a.name, "column_2": b.name, "metric": "CorrelationSimilarity",
                         "real": rr, "synthetic": rs, "score": 1.0 - abs(rr - rs) / 2.0,
                         "real_association": abs(rr)})
            continue
        ra, sa, ka = binned[a.name]
        rb, sb, kb = binned[b.name]
        tvd = 1.0 - tv_complement(ra * kb + rb, sa * kb + sb, ka * kb)
        rows.append({"column_1": a.name, "column_2": b.name, "metric": "ContingencySimilarity",
                     "real": None, "synthetic": None, "score": 1.0 - tvd,
                     "real_association": cramers_v(ra, rb)})
    out = pd.DataFrame(rows, columns=["column_1", "column_2", "metric", "real", "synthetic",
                                      "score", "real_association"])
    out["meets_threshold"] = out["real_association"] >= threshold
    return out


def quality_scores(shapes: pd.DataFrame, trends: pd.DataFrame) -> dict[str, float]:
    """Pair trends average the pairs whose real association meets the threshold (as SDMetrics
    >= 0.32 does), or every pair when none does; ``column_pair_trends_all`` averages all."""
    shape = float(shapes["score"].mean()) if len(shapes) else float("nan")
    strong = trends[trends["meets_threshold"]] if len(trends) else trends
    trend = float((strong if len(strong) else trends)["score"].mean()) if len(trends) \
        else float("nan")
    corr = trends[trends["metric"] == "CorrelationSimilarity"]
    cont = trends[trends["metric"] == "ContingencySimilarity"]
    parts = [x for x in (shape, trend) if not np.isnan(x)]
    return {
        "quality_score": float(np.mean(parts)) if parts else float("nan"),
        "column_shapes": shape,
        "column_pair_trends": trend,
        "column_pair_trends_all": float(trends["score"].mean()) if len(trends) else float("nan"),
        "pairs_meeting_threshold": int(trends["meets_threshold"].sum()) if len(trends) else 0,
        "correlation_difference_mean": float((corr["real"] - corr["synthetic"]).abs().mean())
        if len(corr) else float("nan"),
        "contingency_tvd_mean": float((1.0 - cont["score"]).mean()) if len(cont) else float("nan"),
    }


@single_threaded
def detection(real: pd.DataFrame, syn: pd.DataFrame, schema: TableSchema,
              rng: np.random.Generator, *, max_rows: int = 3000,
              folds: int = 3) -> dict[str, float]:
    """Cross-validated AUC of a classifier telling real from synthetic rows (0.5 is ideal)."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    n = min(len(real), len(syn), max_rows)
    x = np.vstack([encode(subsample(real, n, rng), schema), encode(subsample(syn, n, rng), schema)])
    y = np.r_[np.zeros(n), np.ones(n)]
    if n < 2 * folds:
        return {"detection_auc": float("nan"), "detection_score": float("nan")}
    proba = np.zeros(len(y))
    split = StratifiedKFold(folds, shuffle=True, random_state=int(rng.integers(2**31)))
    for train, test in split.split(x, y):
        clf = HistGradientBoostingClassifier(max_iter=60, max_leaf_nodes=15, early_stopping=False,
                                             random_state=int(rng.integers(2**31)))
        proba[test] = clf.fit(x[train], y[train]).predict_proba(x[test])[:, 1]
    auc = float(roc_auc_score(y, proba))
    return {"detection_auc": auc, "detection_score": 1.0 - 2.0 * (max(auc, 0.5) - 0.5)}


def alpha_beta(real: pd.DataFrame, syn: pd.DataFrame, schema: TableSchema,
               rng: np.random.Generator, *, max_rows: int = 3000, steps: int = 30) -> dict:
    """alpha-precision and beta-recall curves, their integrated scores and authenticity
    (Alaa et al. 2022, Eq. 3-5)."""
    from sklearn.neighbors import NearestNeighbors

    xr = encode(subsample(real, max_rows, rng), schema)
    xs = encode(subsample(syn, max_rows, rng), schema)
    alphas = np.linspace(0, 1, steps)
    center_r, center_s = xr.mean(0), xs.mean(0)
    radii = np.quantile(np.linalg.norm(xr - center_r, axis=1), alphas)
    syn_to_center = np.linalg.norm(xs - center_r, axis=1)
    real_to_real = NearestNeighbors(n_neighbors=2).fit(xr).kneighbors(xr)[0][:, 1]
    real_to_syn, idx = NearestNeighbors(n_neighbors=1).fit(xs).kneighbors(xr)
    real_to_syn, idx = real_to_syn[:, 0], idx[:, 0]
    closest_d = np.linalg.norm(xs[idx] - center_s, axis=1)
    closest_radii = np.quantile(closest_d, alphas)
    precision = np.array([np.mean(syn_to_center <= r) for r in radii])
    recall = np.array([np.mean((real_to_syn <= real_to_real) & (closest_d <= r))
                       for r in closest_radii])
    # authenticity: share of synthetic points farther from their nearest real point than that
    # real point is from its own nearest real neighbour (Alaa et al. 2022, Sec. 3.3)
    syn_to_real, ridx = NearestNeighbors(n_neighbors=1).fit(xr).kneighbors(xs)
    authenticity = float(np.mean(real_to_real[ridx[:, 0]] < syn_to_real[:, 0]))
    return {
        "alpha_precision": float(1 - np.abs(alphas - precision).sum() / alphas.sum()),
        "beta_recall": float(1 - np.abs(alphas - recall).sum() / alphas.sum()),
        "authenticity": authenticity,
        "curve": pd.DataFrame({"alpha": alphas, "alpha_precision": precision,
                               "beta_recall": recall}),
    }
