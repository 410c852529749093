"""Distance-based privacy checks: exact copies, distance to closest record (DCR) and
nearest-neighbour distance ratio (NNDR), synthetic-to-train against test-to-train.

If the synthetic rows are no closer to the training rows than fresh real rows (the test set)
are, the generator has not memorised them (Platzer & Reutterer 2021, "Holdout-Based Fidelity
and Privacy Assessment of Mixed-Type Synthetic Data", Sec. 3).
"""
from __future__ import annotations

import numpy as np


def exact_copy_rate(train_x: np.ndarray, other_x: np.ndarray) -> float:
    """Share of rows of ``other_x`` identical to some training row (on the encoded columns)."""
    if len(other_x) == 0:
        return float("nan")
    seen = {row.tobytes() for row in np.round(train_x, 9)}
    return float(np.mean([row.tobytes() in seen for row in np.round(other_x, 9)]))


def nearest_two(reference: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """Euclidean distances from each query to its two nearest reference rows, shape (n, 2)."""
    from sklearn.neighbors import NearestNeighbors

    k = min(2, len(reference))
    d = NearestNeighbors(n_neighbors=k).fit(reference).kneighbors(queries)[0]
    return d if k == 2 else np.hstack([d, d])


def dcr_nndr(train_x: np.ndarray, syn_x: np.ndarray, test_x: np.ndarray) -> dict:
    """DCR and NNDR of synthetic and of test rows to the training rows."""
    ds, dt = nearest_two(train_x, syn_x), nearest_two(train_x, test_x)
    dcr_s, dcr_t = ds[:, 0], dt[:, 0]
    nndr_s = np.divide(ds[:, 0], ds[:, 1], out=np.zeros(len(ds)), where=ds[:, 1] > 0)
    nndr_t = np.divide(dt[:, 0], dt[:, 1], out=np.zeros(len(dt)), where=dt[:, 1] > 0)
    p05 = float(np.quantile(dcr_t, 0.05))
    scores = {
        "dcr_synthetic_train_median": float(np.median(dcr_s)),
        "dcr_test_train_median": float(np.median(dcr_t)),
        "dcr_synthetic_train_p05": float(np.quantile(dcr_s, 0.05)),
        "dcr_test_train_p05": p05,
        # 0.05 is what fresh real data gives; much more means synthetic rows hug training rows
        "dcr_share_below_test_p05": float(np.mean(dcr_s < p05)),
        "nndr_synthetic_train_median": float(np.median(nndr_s)),
        "nndr_test_train_median": float(np.median(nndr_t)),
    }
    return {"scores": scores, "dcr_synthetic": dcr_s, "dcr_test": dcr_t}
