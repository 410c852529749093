"""The realism figures (matplotlib is imported only when a figure is drawn)."""
from __future__ import annotations

import numpy as np
import pandas as pd


def amount_per_mcc(card: pd.DataFrame):
    from synthscape.evaluation.figures import subplots
    from synthscape_finance import mcc

    fig, ax = subplots(figsize=(9, 4.2))
    names = dict(zip(mcc.CODES.tolist(), mcc.NAMES))
    codes = sorted(card["mcc"].dropna().astype(int).unique())
    data = [np.log10(card.loc[card["mcc"] == c, "amount"].to_numpy()) for c in codes]
    ax.boxplot(data, showfliers=False)
    ax.set_xticks(range(1, len(codes) + 1),
                  [f"{c}\n{names.get(c, '')}" for c in codes], rotation=60, fontsize=7)
    ax.set_ylabel("log10 amount (USD)")
    ax.set_title("Amount per merchant category (legitimate rows of sampled accounts)")
    fig.tight_layout()
    return fig


def inter_event(gaps_hours: np.ndarray):
    from synthscape.evaluation.figures import subplots

    fig, ax = subplots(figsize=(6, 3.6))
    g = gaps_hours[gaps_hours > 0]
    if len(g):
        ax.hist(np.log10(g), bins=60, color="#4477aa")
    ax.set_xlabel("log10 hours between consecutive events of an account")
    ax.set_ylabel("count")
    ax.set_title("Inter-event times")
    fig.tight_layout()
    return fig


def degrees(out_deg: np.ndarray, in_deg: np.ndarray):
    from synthscape.evaluation.figures import subplots

    fig, ax = subplots(figsize=(6, 3.8))
    for d, label in ((out_deg, "out-degree"), (in_deg, "in-degree")):
        d = np.sort(d[d > 0])
        if len(d):
            ccdf = 1.0 - np.arange(len(d)) / len(d)
            ax.loglog(d, ccdf, ".", ms=3, label=label)
    ax.set_xlabel("degree")
    ax.set_ylabel("P(degree >= x)")
    ax.set_title("Transfer graph degree distribution (CCDF)")
    ax.legend()
    fig.tight_layout()
    return fig


def typology_share(share: pd.DataFrame):
    from synthscape.evaluation.figures import subplots

    fig, ax = subplots(figsize=(7, 3.8))
    if len(share):
        s = share.sort_values("share")
        colour = np.where(s["illicit"], "#cc6677", "#88aacc")
        ax.barh(s["typology"], s["share"] * 100, color=colour)
        from matplotlib.patches import Patch

        ax.legend(handles=[Patch(color="#cc6677", label="illicit rows"),
                           Patch(color="#88aacc", label="legitimate look-alike rows")],
                  loc="lower right", fontsize=8)
    ax.set_xlabel("share of all transactions (%)")
    ax.set_title("Rows per typology (illicit rows and legitimate look-alikes)")
    fig.tight_layout()
    return fig
