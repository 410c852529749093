"""Fairness and representation for each sensitive column: group shares real vs synthetic, the
TSTR model's quality per group, and its demographic-parity and equalised-odds differences
(Hardt et al. 2016, "Equality of Opportunity in Supervised Learning", Eq. 1), next to the same
figures for the model trained on real data.

The positive class of a classification target is its least frequent class in the test set.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from synthscape.evaluation._encode import codes
from synthscape.evaluation.utility import UtilityResult
from synthscape.schema import TableSchema


def group_shares(real: pd.DataFrame, syn: pd.DataFrame, schema: TableSchema,
                 column: str) -> pd.DataFrame:
    col = schema[column]
    size = len(col.values) + 1
    pr = np.bincount(codes(real[column], col), minlength=size) / max(len(real), 1)
    ps = np.bincount(codes(syn[column], col), minlength=size) / max(len(syn), 1)
    labels = [str(v) for v in col.values] + ["(missing)"]
    rows = [{"column": column, "group": labels[i], "real_share": pr[i], "synthetic_share": ps[i]}
            for i in range(size) if pr[i] > 0 or ps[i] > 0]
    return pd.DataFrame(rows)


def _rate(mask: np.ndarray, of: np.ndarray) -> float:
    return float(mask[of].mean()) if of.any() else float("nan")


def _spread(values: list[float]) -> float:
    v = [x for x in values if not np.isnan(x)]
    return float(max(v) - min(v)) if len(v) >= 2 else float("nan")


def group_metrics(util: UtilityResult, groups: np.ndarray, labels: list[str],
                  train_on: str) -> tuple[list[dict], dict[str, float]]:
    """Per-group quality, and parity differences, of the HGB model trained on ``train_on``."""
    from sklearn.metrics import r2_score

    task = util.task
    out = util.predictions.get(train_on)
    if task is None or out is None:
        return [], {}
    y = task.y["real_test"]
    rows, pos_rate, tpr, fpr = [], [], [], []
    if task.kind == "classification":
        pred = np.argmax(out, axis=1)
        positive = pred == task.minority
    for g in np.unique(groups):
        m = groups == g
        row = {"group": labels[g], "train_on": train_on, "rows": int(m.sum())}
        if task.kind == "regression":
            row["r2"] = float(r2_score(y[m], out[m])) if m.sum() >= 2 else float("nan")
        else:
            is_pos = y == task.minority
            row["accuracy"] = float(np.mean(pred[m] == y[m]))
            row["positive_rate"] = _rate(positive, m)
            row["tpr"] = _rate(positive, m & is_pos)
            row["fpr"] = _rate(positive, m & ~is_pos)
            pos_rate.append(row["positive_rate"])
            tpr.append(row["tpr"])
            fpr.append(row["fpr"])
        rows.append(row)
    scores: dict[str, float] = {}
    if task.kind == "classification":
        scores["demographic_parity_difference"] = _spread(pos_rate)
        scores["equalized_odds_difference"] = float(np.nanmax([_spread(tpr), _spread(fpr)])) \
            if not (np.isnan(_spread(tpr)) and np.isnan(_spread(fpr))) else float("nan")
    else:
        scores["r2_gap"] = _spread([r["r2"] for r in rows])
    return rows, scores


def fairness(tables: dict[str, pd.DataFrame], schema: TableSchema, sensitive: tuple[str, ...],
             util: UtilityResult | None) -> tuple[dict[str, float], dict[str, pd.DataFrame],
                                                  list[str]]:
    scores: dict[str, float] = {}
    out_tables: dict[str, pd.DataFrame] = {}
    notes: list[str] = []
    for column in sensitive:
        shares = group_shares(tables["real_train"], tables["synthetic"], schema, column)
        out_tables[f"{column}: group shares"] = shares
        scores[f"{column}_share_tvd"] = 0.5 * float(
            (shares["real_share"] - shares["synthetic_share"]).abs().sum())
        if util is None or util.task is None:
            continue
        col = schema[column]
        groups = codes(tables["real_test"][column], col)
        # the utility task left out the test rows without a label: align the groups with it
        y_keep = ~tables["real_test"][util.task.target].isna().to_numpy()
        if util.task.kind == "regression":
            y_keep = ~pd.to_numeric(tables["real_test"][util.task.target],
                                    errors="coerce").isna().to_numpy()
        groups = groups[y_keep]
        labels = [str(v) for v in col.values] + ["(missing)"]
        rows: list[dict] = []
        for train_on in ("synthetic", "real"):
            r, s = group_metrics(util, groups, labels, train_on)
            rows += r
            prefix = "tstr" if train_on == "synthetic" else "trtr"
            scores.update({f"{column}_{prefix}_{k}": v for k, v in s.items()})
        if util.predictions.get("synthetic") is None:
            notes.append(f"{column}: no model could be trained on the synthetic data, so only "
                         f"group shares are reported")
        out_tables[f"{column}: per-group model quality"] = pd.DataFrame(rows)
    return scores, out_tables, notes
