"""Realism and leakage checks, written as report sections with figures.

Leakage: a shallow tree that sees only identifiers, timestamps and balance residuals must not
find the illicit rows better than a tree that sees only the channel (PaySim's fraud is found
from an identifier prefix and one balance column: PaySim issue 13). Folds are grouped by
account, so memorising an account cannot pass for a leak.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from synthscape.random import derive_rng

ARTEFACT_GROUPS = {
    "identifiers": ["tx_id", "account_id", "card_id", "merchant_id", "counterparty_id",
                    "device_id"],
    "timestamps": ["timestamp"],
    "balances": ["balance_residual", "cp_balance_residual"],
}


def artefact_features(df: pd.DataFrame) -> pd.DataFrame:
    """Identifiers as numbers, the timestamp in seconds and the balance residuals in cents
    (zero whenever the books add up; a declined row posts nothing), plus the channel code."""
    out = pd.DataFrame(index=df.index)
    for c in ARTEFACT_GROUPS["identifiers"]:
        out[c] = df[c].fillna(-1).astype("int64")
    out["timestamp"] = epoch_seconds(df["timestamp"])
    credit = df["channel"].astype(str).isin(["deposit", "cash_deposit"]).to_numpy()
    sign = np.where(credit, 1.0, -1.0)
    posted = df["amount"].where(df["status"].astype(str) == "approved", 0.0)  # declined: 0
    out["balance_residual"] = np.round((df["balance_before"] + sign * posted
                                        - df["balance_after"]) * 100).astype("int64")
    cp = (df["cp_balance_before"] + posted - df["cp_balance_after"]).fillna(0.0)
    out["cp_balance_residual"] = np.round(cp * 100).astype("int64")
    out["channel"] = df["channel"].cat.codes if hasattr(df["channel"], "cat") else \
        pd.Categorical(df["channel"]).codes
    return out


def epoch_seconds(ts: pd.Series) -> np.ndarray:
    return ts.to_numpy().astype("datetime64[s]").astype(np.int64)


def leakage_scores(df: pd.DataFrame, *, max_rows: int = 60_000, seed: int = 0) -> dict:
    """Out-of-fold ROC AUC of a depth-4 tree on the channel alone, on the channel plus every
    artefact group, and on the channel plus each group."""
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import GroupKFold
    from sklearn.tree import DecisionTreeClassifier

    y_all = (df["is_fraud"] | df["is_laundering"]).to_numpy()
    if y_all.sum() < 10 or (~y_all).sum() < 10:
        return {"skipped": "fewer than 10 illicit or legitimate rows"}
    if len(df) > max_rows:
        rng = derive_rng(seed, "finance.leakage_sample")
        df = df.iloc[np.sort(rng.choice(len(df), max_rows, replace=False))]
    y = (df["is_fraud"] | df["is_laundering"]).to_numpy()
    X = artefact_features(df)
    groups = df["account_id"].to_numpy()
    leaf = max(20, len(df) // 500)

    def auc(cols: list[str]) -> float:
        pred = np.zeros(len(y))
        for tr, te in GroupKFold(n_splits=3).split(X, y, groups):
            m = DecisionTreeClassifier(max_depth=4, min_samples_leaf=leaf, random_state=seed)
            m.fit(X.iloc[tr][cols], y[tr])
            pred[te] = m.predict_proba(X.iloc[te][cols])[:, 1]
        return float(roc_auc_score(y, pred))

    base = auc(["channel"])
    everything = ["channel"] + [c for g in ARTEFACT_GROUPS.values() for c in g]
    out = {"rows": int(len(y)), "illicit_rows": int(y.sum()), "auc_channel_only": base,
           "auc_artefacts": auc(everything)}
    out["lift"] = out["auc_artefacts"] - base
    for g, cols in ARTEFACT_GROUPS.items():
        out[f"lift_{g}"] = auc(["channel", *cols]) - base
    return out


def leakage_section(ctx, sample: pd.DataFrame, max_lift: float) -> dict:
    scores: dict[str, Any] = (leakage_scores(sample, seed=ctx.seed) if not sample.empty
                              else {"skipped": "empty"})
    notes = []
    if "skipped" in scores:
        notes.append(f"Leakage check skipped: {scores['skipped']}.")
    else:
        leaking = [g for g in ARTEFACT_GROUPS if scores[f"lift_{g}"] > max_lift]
        scores["leak"] = bool(scores["lift"] > max_lift or leaking)
        if scores["leak"]:
            notes.append(f"LABELS LEAK: a depth-4 tree on {', '.join(leaking) or 'artefacts'} "
                         f"finds the illicit rows (ROC AUC lift {scores['lift']:.3f} over the "
                         f"channel alone > {max_lift}). Do not publish this data set for "
                         f"detection benchmarks.")
        else:
            notes.append(f"No leak found: identifiers, timestamps and balance residuals add "
                         f"{scores['lift']:.3f} ROC AUC over the channel alone (allowed "
                         f"{max_lift}).")
    ctx.report.add_section("leakage", title="Leakage check", scores=scores, notes=notes)
    if "skipped" not in scores:
        ctx.report.add_gate("leakage/lift", max_lift, "max")
    return scores


def realism_section(ctx, sample: pd.DataFrame, sim) -> None:
    """Amount per MCC, inter-event times, degree distribution, share per typology."""
    from synthscape_finance import figures

    if sample.empty:
        return
    legit = sample[sample["in_sample"] & ~sample["is_fraud"] & ~sample["is_laundering"]]
    card = legit[legit["mcc"].notna()]
    per_mcc = card.groupby("mcc")["amount"].describe(percentiles=[0.5])[["count", "mean", "50%"]]
    per_mcc = per_mcc.reset_index().rename(columns={"50%": "median"})
    gaps = _inter_event_hours(legit)
    src, dst = sim.bg.src, sim.bg.dst
    n = sim.world.n_accounts
    out_deg = np.bincount(src, minlength=n)
    in_deg = np.bincount(dst, minlength=n)
    total = max(sim.rows, 1)
    illicit = sample[sample["typology"].astype(str) != "none"]
    bad = illicit["is_fraud"] | illicit["is_laundering"]
    key = np.where(bad, illicit["typology"].astype(str),
                   illicit["typology"].astype(str) + " (legit)")
    share = (illicit.groupby(key).size() / total).rename("share").rename_axis("typology")
    share = share[share > 0].reset_index()
    share["illicit"] = ~share["typology"].str.endswith("(legit)")
    figs = [ctx.save_figure("amount_per_mcc", figures.amount_per_mcc(card)),
            ctx.save_figure("inter_event_times", figures.inter_event(gaps)),
            ctx.save_figure("degree_distribution", figures.degrees(out_deg, in_deg)),
            ctx.save_figure("share_per_typology", figures.typology_share(share))]
    ctx.report.add_section(
        "realism", title="Realism: amounts, timing, graph, typology shares",
        scores={"inter_event_median_hours": float(np.median(gaps)) if len(gaps) else None,
                "degree_tail_exponent_out": hill_exponent(out_deg),
                "degree_tail_exponent_in": hill_exponent(in_deg),
                "max_out_degree": int(out_deg.max()), "max_in_degree": int(in_deg.max()),
                "illicit_share": float(len(illicit[illicit["is_fraud"] |
                                                   illicit["is_laundering"]]) / total)},
        tables={"amount_per_mcc": per_mcc, "share_per_typology": share},
        figures=figs,
        notes=["Amounts and inter-event times come from the legitimate rows of a random subset "
               "of customers; the degree distribution is the whole legitimate transfer graph."])


def _inter_event_hours(df: pd.DataFrame) -> np.ndarray:
    d = df.sort_values(["account_id", "timestamp"], kind="stable")
    t = epoch_seconds(d["timestamp"])
    a = d["account_id"].to_numpy()
    same = a[1:] == a[:-1]
    return (np.diff(t)[same] / 3600.0).astype(float)


def hill_exponent(deg: np.ndarray, tail: float = 0.05) -> float | None:
    """Power-law exponent of the degree tail by the discrete Hill / Clauset-Shalizi-Newman
    (2009, eq. 3.7) estimator over the top ``tail`` share of nodes."""
    d = np.sort(deg[deg > 0])[::-1]
    k = max(int(len(d) * tail), 10)
    if len(d) < k + 1:
        return None
    x = d[:k].astype(float)
    xmin = float(d[k])
    return float(1.0 + k / np.sum(np.log(x / (xmin - 0.5))))
