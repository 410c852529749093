"""Utility: train on synthetic, test on real (TSTR) against train on real (TRTR), and the gain
from adding synthetic rows to the real training set (augmentation).

Classification: ROC-AUC and PR-AUC (one-vs-rest, macro over the classes present in the test set;
binary PR-AUC is the average precision of the minority class), macro F1, accuracy and the recall
of the minority class. Regression: R2. Models: logistic / ridge regression and
HistGradientBoosting, with fixed seeds.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from synthscape.evaluation._encode import codes, encode
from synthscape.evaluation._threads import single_threaded
from synthscape.schema import TableSchema

MODELS = ("logistic_regression", "hist_gradient_boosting")


@dataclass
class Task:
    """Features and labels of the three tables for one target."""

    target: str
    kind: str  # "classification" or "regression"
    x: dict[str, np.ndarray]
    y: dict[str, np.ndarray]
    classes: tuple[Any, ...] = ()
    minority: int = -1


@dataclass
class UtilityResult:
    scores: dict[str, Any]  # numbers, and the task kind under "task"
    table: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    # HGB outputs on real_test, keyed by what it was trained on ("synthetic", "real")
    predictions: dict[str, np.ndarray] = field(default_factory=dict)
    task: Task | None = None


def make_task(tables: dict[str, pd.DataFrame], schema: TableSchema, target: str) -> Task:
    col = schema[target]
    x = {k: encode(df, schema, exclude=(target,)) for k, df in tables.items()}
    if col.kind in ("categorical", "boolean"):
        # rows without a label (a nullable target's nulls) are left out, as for regression
        y = {k: codes(df[target], col) for k, df in tables.items()}
        keep = {k: v < len(col.values) for k, v in y.items()}
        x = {k: x[k][keep[k]] for k in x}
        y = {k: y[k][keep[k]] for k in y}
        present = np.bincount(y["real_test"], minlength=len(col.values))
        present = np.where(present == 0, np.iinfo(np.int64).max, present)
        return Task(target, "classification", x, y, tuple(col.values),
                    int(np.argmin(present)))
    y = {k: pd.to_numeric(df[target], errors="coerce").to_numpy(float) for k, df in tables.items()}
    keep = {k: ~np.isnan(v) for k, v in y.items()}
    return Task(target, "regression", {k: x[k][keep[k]] for k in x},
                {k: y[k][keep[k]] for k in y})


def _model(name: str, kind: str, seed: int):
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.linear_model import LogisticRegression, Ridge

    if name == "logistic_regression":
        return LogisticRegression(max_iter=1000) if kind == "classification" else Ridge(alpha=1.0)
    cls = HistGradientBoostingClassifier if kind == "classification" else \
        HistGradientBoostingRegressor
    return cls(max_iter=100, random_state=seed)


def classification_metrics(y: np.ndarray, proba: np.ndarray, minority: int) -> dict[str, float]:
    """``proba[:, k]`` is the predicted probability of class code ``k``."""
    from sklearn.metrics import accuracy_score, average_precision_score, f1_score, roc_auc_score

    pred = np.argmax(proba, axis=1)
    present = np.unique(y)
    if len(present) < 2:
        auc = ap = float("nan")
    else:
        auc = float(np.mean([roc_auc_score(y == k, proba[:, k]) for k in present]))
        ap = float(average_precision_score(y == minority, proba[:, minority])) if \
            len(present) == 2 else \
            float(np.mean([average_precision_score(y == k, proba[:, k]) for k in present]))
    return {"roc_auc": auc, "pr_auc": ap,
            "f1": float(f1_score(y, pred, average="macro", labels=present, zero_division=0)),
            "accuracy": float(accuracy_score(y, pred)),
            "minority_recall": float(np.mean(pred[y == minority] == minority))}


def fit_predict(task: Task, name: str, train_x: np.ndarray, train_y: np.ndarray,
                test_x: np.ndarray, seed: int) -> np.ndarray | None:
    """Class probabilities (one column per class code) or regression predictions; None when the
    training labels have a single class."""
    model = _model(name, task.kind, seed)
    if task.kind == "regression":
        return model.fit(train_x, train_y).predict(test_x)
    labels = np.unique(train_y)
    if len(labels) < 2:
        return None
    model.fit(train_x, train_y)
    proba = np.zeros((len(test_x), len(task.classes)))
    proba[:, model.classes_.astype(int)] = model.predict_proba(test_x)
    return proba


def _metrics(task: Task, out: np.ndarray | None) -> dict[str, float]:
    y = task.y["real_test"]
    if task.kind == "regression":
        from sklearn.metrics import r2_score

        return {"r2": float(r2_score(y, out)) if out is not None else float("nan")}
    if out is None:
        return {k: float("nan") for k in ("roc_auc", "pr_auc", "f1", "accuracy", "minority_recall")}
    return classification_metrics(y, out, task.minority)


@single_threaded
def utility(tables: dict[str, pd.DataFrame], schema: TableSchema, target: str,
            seed: int = 0) -> UtilityResult:
    """TSTR vs TRTR for ``target`` with each model, plus augmentation gain (HGB)."""
    task = make_task(tables, schema, target)
    primary = "roc_auc" if task.kind == "classification" else "r2"
    rows, notes = [], []
    scores: dict[str, Any] = {"task": task.kind}
    predictions: dict[str, np.ndarray] = {}
    test_x = task.x["real_test"]
    for name in MODELS:
        for train_on, key in (("synthetic", "synthetic"), ("real", "real_train")):
            out = fit_predict(task, name, task.x[key], task.y[key], test_x, seed)
            if out is None:
                notes.append(f"{name} trained on {train_on} data: the target {target!r} has a "
                             f"single class there, so no classifier could be trained")
            if name == "hist_gradient_boosting" and out is not None:
                predictions[train_on] = out
            rows.append({"model": name, "train_on": train_on, **_metrics(task, out)})
    table = pd.DataFrame(rows)
    for name in MODELS:
        sub = table[table["model"] == name].set_index("train_on")
        tstr, trtr = sub.loc["synthetic", primary], sub.loc["real", primary]
        short = "lr" if name == "logistic_regression" else "hgb"
        scores[f"tstr_{primary}_{short}"] = float(tstr)
        scores[f"trtr_{primary}_{short}"] = float(trtr)
        scores[f"tstr_trtr_ratio_{short}"] = float(tstr / trtr) if trtr not in (0,) and \
            not np.isnan(trtr) else float("nan")
    aug_x = np.vstack([task.x["real_train"], task.x["synthetic"]])
    aug_y = np.r_[task.y["real_train"], task.y["synthetic"]]
    aug = _metrics(task, fit_predict(task, "hist_gradient_boosting", aug_x, aug_y, test_x, seed))
    rows.append({"model": "hist_gradient_boosting", "train_on": "real+synthetic", **aug})
    scores[f"augmented_{primary}_hgb"] = aug[primary]
    scores[f"augmentation_gain_{primary}"] = aug[primary] - scores[f"trtr_{primary}_hgb"]
    hgb = table[table["model"] == "hist_gradient_boosting"].set_index("train_on")
    for k, v in hgb.loc["synthetic"].items():
        if k != "model" and k != primary:
            scores[f"tstr_{k}_hgb"] = float(v)
    return UtilityResult(scores, pd.DataFrame(rows), notes, predictions, task)
