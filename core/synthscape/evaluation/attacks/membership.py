"""Membership inference against the synthetic data: is a real row in the training set?

Members are training rows, non-members are test rows never seen by the generator. Two attacks:
- distance: the closer a row is to its nearest synthetic row, the likelier a member;
- density ratio in the manner of DOMIAS (van Breugel et al. 2023, "Membership Inference Attacks
  against Synthetic Data through Overfitting Detection", Eq. 2): score p_synthetic(x) /
  p_reference(x), both densities estimated by Gaussian kernels on a PCA projection fitted on
  the synthetic and reference rows; the reference rows are real rows held out from both sides.
Reported: ROC-AUC (0.5 means the attack cannot tell) and the TPR at FPR = 0.01.
"""
from __future__ import annotations

import numpy as np


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


def _log_kde(data: np.ndarray, points: np.ndarray) -> np.ndarray:
    from scipy.stats import gaussian_kde

    jitter = np.random.default_rng(0).normal(0, 1e-6, data.shape)  # avoids singular covariances
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
    return _log_kde(zs, zt) - _log_kde(zr, zt)


def membership_inference(train_x: np.ndarray, test_x: np.ndarray, syn_x: np.ndarray,
                         rng: np.random.Generator, max_targets: int = 1000) -> dict:
    """Both attacks on the same members and non-members; half of the test rows are the
    reference set of the density-ratio attack, the other half the non-members."""
    perm = rng.permutation(len(test_x))
    half = len(test_x) // 2
    ref, non = test_x[perm[:half]], test_x[perm[half:]]
    m = int(min(max_targets, len(non), len(train_x)))
    non = non[:m]
    members = train_x[rng.choice(len(train_x), size=m, replace=False)]
    targets = np.vstack([members, non])
    out = {"targets": m}
    d = distance_scores(syn_x, targets)
    out["distance"] = roc_summary(d[:m], d[m:])
    r = domias_scores(syn_x, ref, targets, seed=int(rng.integers(2**31)))
    out["domias"] = roc_summary(r[:m], r[m:])
    return out
