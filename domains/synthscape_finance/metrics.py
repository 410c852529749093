"""Detection metrics for rare events: PR-AUC, recall at a fixed false-positive rate, minority
F1 and the Brier score (Saito & Rehmsmeier 2015 on PR curves for imbalanced data)."""
from __future__ import annotations

import numpy as np


def recall_at_fpr(y: np.ndarray, score: np.ndarray, fpr: float = 0.01) -> float:
    """Largest recall whose false-positive rate stays at or below ``fpr``."""
    from sklearn.metrics import roc_curve

    f, t, _ = roc_curve(y, score)
    ok = f <= fpr + 1e-12
    return float(t[ok].max()) if ok.any() else 0.0


def detection_scores(y, score, threshold: float = 0.5) -> dict[str, float]:
    """``y`` in {0, 1}, ``score`` a probability of the positive class."""
    from sklearn.metrics import average_precision_score, brier_score_loss, f1_score

    y = np.asarray(y).astype(int)
    score = np.asarray(score, float)
    return {"pr_auc": float(average_precision_score(y, score)),
            "recall_at_1pct_fpr": recall_at_fpr(y, score, 0.01),
            "minority_f1": float(f1_score(y, (score >= threshold).astype(int), zero_division=0)),
            "brier": float(brier_score_loss(y, score))}


def paired_summary(diffs: np.ndarray) -> dict[str, float]:
    """Mean of paired differences over seeds with a 95% t interval."""
    from scipy import stats

    d = np.asarray(diffs, float)
    n = len(d)
    mean = float(d.mean())
    if n < 2:
        return {"mean": mean, "ci95_low": float("nan"), "ci95_high": float("nan"), "n": n}
    half = float(stats.t.ppf(0.975, n - 1) * d.std(ddof=1) / np.sqrt(n))
    return {"mean": mean, "ci95_low": mean - half, "ci95_high": mean + half, "n": n}
