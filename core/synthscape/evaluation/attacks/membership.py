"""Membership inference against the synthetic data: is a real row in the training set?

Members are training rows, non-members are test rows never seen by the generator. Attacks:
- distance: the closer a row is to its nearest synthetic row, the likelier a member;
- density ratio in the manner of DOMIAS (van Breugel et al. 2023, "Membership Inference Attacks
  against Synthetic Data through Overfitting Detection", Eq. 2): score p_synthetic(x) /
  p_reference(x), both densities estimated by Gaussian kernels on a PCA projection fitted on
  the synthetic and reference rows; the reference rows are real rows held out from both sides;
- the same ratio per numerical column, summed in logs, with narrow kernels (0.1 x Scott's
  bandwidth): it sees generators that copy each column's empirical distribution too closely.
Reported: ROC-AUC (0.5 means the attack cannot tell) and the TPR at FPR = 0.01.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from synthscape.evaluation._encode import encode, numeric
from synthscape.random import derive_rng
from synthscape.schema import TableSchema


def roc_summary(members: np.ndarray, non_members: np.ndarray, fpr_at: float = 0.01) -> dict:
    """AUC and TPR at ``fpr_at`` of scores where larger means "member"."""
    from sklearn.metrics import roc_auc_score, roc_curve

    y = np.r_[np.ones(len(members)), np.zeros(len(non_members))]
    s = np.r_[members, non_members]
    fpr, tpr, _ = roc_curve(y, s)
    ok = fpr <= fpr_at
    return {"auc": float(roc_auc_score(y, s)), "tpr_at_fpr": float(tpr[ok].max()) if ok.any()
            else 0.0, "fpr": fpr, "tpr": tpr}


def distance_scores(syn_x: np.ndarray, targets: np.ndarray) -> np.ndarray:
    from sklearn.neighbors import NearestNeighbors

    return -NearestNeighbors(n_neighbors=1).fit(syn_x).kneighbors(targets)[0][:, 0]


def _log_kde(data: np.ndarray, points: np.ndarray, seed: int = 0) -> np.ndarray:
    from scipy.stats import gaussian_kde

    # a tiny public jitter avoids singular covariances
    jitter = derive_rng(seed, "membership", "jitter").normal(0, 1e-6, data.shape)
    return gaussian_kde((data + jitter).T, bw_method="scott").logpdf(points.T)


def domias_scores(syn_x: np.ndarray, ref_x: np.ndarray, targets: np.ndarray,
                  seed: int = 0, components: int = 8) -> np.ndarray:
    """log p_synthetic(x) - log p_reference(x) for each target row."""
    from sklearn.decomposition import PCA

    base = np.vstack([syn_x, ref_x])
    k = int(min(components, base.shape[1], np.linalg.matrix_rank(base - base.mean(0)) or 1))
    pca = PCA(n_components=k, random_state=seed).fit(base)
    zs, zr, zt = pca.transform(syn_x), pca.transform(ref_x), pca.transform(targets)
    scale = zr.std(0) + 1e-9
    zs, zr, zt = zs / scale, zr / scale, zt / scale
    return _log_kde(zs, zt, seed) - _log_kde(zr, zt, seed)


def marginal_domias_scores(syn: pd.DataFrame, ref: pd.DataFrame, targets: pd.DataFrame,
                           schema: TableSchema, bandwidth: float = 0.1,
                           min_levels: int = 20) -> np.ndarray:
    """Sum over numerical columns with at least ``min_levels`` distinct reference values of
    log p_synthetic(x_j) - log p_reference(x_j), kernels at ``bandwidth`` x Scott's factor."""
    total = np.zeros(len(targets))
    for c in schema.modelled():
        if c.kind not in ("numerical", "datetime"):
            continue
        xs, xr, xt = (numeric(d[c.name], c) for d in (syn, ref, targets))
        xs, xr = xs[~np.isnan(xs)], xr[~np.isnan(xr)]
        if len(np.unique(xr)) < min_levels or len(np.unique(xs)) < 2:
            continue
        xt = np.where(np.isnan(xt), np.nanmedian(xr), xt)
        total += _log_kde_1d(xs, xt, bandwidth) - _log_kde_1d(xr, xt, bandwidth)
    return total


def _log_kde_1d(data: np.ndarray, points: np.ndarray, bandwidth: float) -> np.ndarray:
    """Log of a Gaussian kernel density at ``points``, kernel sd = ``bandwidth`` x Scott's
    factor x sd(data), computed on a fine grid by FFT convolution (binned KDE, bins of at most
    a quarter of the kernel sd)."""
    from scipy.signal import fftconvolve

    h = bandwidth * len(data) ** (-1 / 5) * (data.std() or 1.0)
    lo = min(data.min(), points.min()) - 5 * h
    hi = max(data.max(), points.max()) + 5 * h
    bins = int(min(max((hi - lo) / (h / 4), 64), 2**18))
    counts, edges = np.histogram(data, bins=bins, range=(lo, hi))
    width = edges[1] - edges[0]
    half = int(np.ceil(5 * h / width))
    grid = np.arange(-half, half + 1) * width
    kernel = np.exp(-0.5 * (grid / h) ** 2) / (h * np.sqrt(2 * np.pi))
    density = fftconvolve(counts, kernel, mode="same") / len(data)
    centres = (edges[:-1] + edges[1:]) / 2
    return np.log(np.maximum(np.interp(points, centres, density), 1e-300))


def membership_inference(train: pd.DataFrame, test: pd.DataFrame, syn: pd.DataFrame,
                         schema: TableSchema, rng: np.random.Generator,
                         max_targets: int = 1000) -> dict:
    """Every attack on the same members and non-members; half of the test rows are the
    reference set of the density-ratio attacks, the other half the non-members."""
    perm = rng.permutation(len(test))
    half = len(test) // 2
    ref, non = test.iloc[perm[:half]], test.iloc[perm[half:]]
    m = int(min(max_targets, len(non), len(train)))
    members = train.iloc[rng.choice(len(train), size=m, replace=False)]
    targets = pd.concat([members, non.iloc[:m]], ignore_index=True)
    syn_x, ref_x, tx = encode(syn, schema), encode(ref, schema), encode(targets, schema)
    out: dict = {"targets": m}
    d = distance_scores(syn_x, tx)
    out["distance"] = roc_summary(d[:m], d[m:])
    r = domias_scores(syn_x, ref_x, tx, seed=int(rng.integers(2**31)))
    out["domias"] = roc_summary(r[:m], r[m:])
    g = marginal_domias_scores(syn, ref, targets, schema)
    out["domias_marginal"] = roc_summary(g[:m], g[m:])
    return out
