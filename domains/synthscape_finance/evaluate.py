"""Fraud detectors trained on one log and scored on another: the utility measure of a synthetic
log (train on synthetic, test on real held-out customers), shared by the learned run's internal
evaluation and benchmarks/sequences.py."""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from synthscape_finance.detect import history_features, recall_per_typology
from synthscape_finance.metrics import detection_scores


def restrict(log: dict[str, pd.DataFrame], customer_ids) -> dict[str, pd.DataFrame]:
    """The part of a log (customers, accounts, transactions, labels or tx_labels) that
    belongs to ``customer_ids``."""
    ids = set(np.asarray(customer_ids).tolist())
    cu = log["customers"][log["customers"]["customer_id"].isin(ids)]
    ac = log["accounts"][log["accounts"]["customer_id"].isin(ids)]
    tx = log["transactions"][log["transactions"]["account_id"].isin(ac["account_id"])]
    lab_name = "tx_labels" if "tx_labels" in log else "labels"
    lab = log[lab_name][log[lab_name]["tx_id"].isin(tx["tx_id"])]
    return {"customers": cu, "accounts": ac, "transactions": tx, "tx_labels": lab}


def design(log: dict[str, pd.DataFrame]) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Features, fraud labels and typologies of every transaction of a log."""
    lab = log.get("tx_labels", log.get("labels"))
    assert lab is not None
    tx = log["transactions"].merge(lab[["tx_id", "is_fraud", "typology"]], on="tx_id",
                                   how="left", validate="1:1")
    X = history_features(tx, log["accounts"], log["customers"])
    return X, tx["is_fraud"].fillna(False).to_numpy(dtype=bool), \
        tx["typology"].astype(str).to_numpy()


def fit_detector(X: pd.DataFrame, y: np.ndarray, *, seed: int = 0,
                 class_weight: Any = None, max_iter: int = 200):
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(random_state=seed, max_iter=max_iter,
                                          class_weight=class_weight).fit(X, y)


def score(model, X: pd.DataFrame, y: np.ndarray, typology: np.ndarray) -> dict[str, Any]:
    """PR-AUC, recall at 1% FPR and the recall of each fraud typology at 1% FPR."""
    if y.sum() == 0 or (~y).sum() == 0:
        return {"skipped": "the test log needs fraudulent and legitimate transactions"}
    s = model.predict_proba(X)[:, 1]
    out: dict[str, Any] = {k: v for k, v in detection_scores(y, s).items()
                           if k in ("pr_auc", "recall_at_1pct_fpr")}
    out["recall_per_typology"] = recall_per_typology(y, s, typology, 0.01)
    return out


def train_and_score(train: dict[str, pd.DataFrame], test: dict[str, pd.DataFrame], *,
                    seed: int = 0) -> dict[str, Any]:
    """A gradient-boosting detector trained on ``train`` and scored on ``test``."""
    X, y, _ = design(train)
    if y.sum() == 0 or (~y).sum() == 0:
        return {"skipped": "the training log needs fraudulent and legitimate transactions"}
    Xt, yt, typ = design(test)
    return score(fit_detector(X, y, seed=seed), Xt, yt, typ)
