"""The EHR figures (matplotlib is imported only when a figure is drawn)."""
from __future__ import annotations

import pandas as pd


def prevalence(prev: pd.DataFrame):
    """Real against synthetic prevalence per code (columns ``key``, ``real``, ``synthetic``);
    an internal figure: it shows statistics of the real patients."""
    from synthscape.evaluation.figures import subplots

    fig, ax = subplots(figsize=(5.2, 4.6))
    ax.scatter(prev.real, prev.synthetic, s=22)
    for _, row in prev.iterrows():
        ax.annotate(str(row.key).split(":", 1)[-1], (row.real, row.synthetic), fontsize=7,
                    xytext=(3, 2), textcoords="offset points")
    top = max(float(prev.real.max()), float(prev.synthetic.max())) * 1.08
    ax.plot([0, top], [0, top], color="grey", lw=0.8, ls="--", label="equal")
    ax.set_xlim(0, top)
    ax.set_ylim(0, top)
    ax.set_xlabel("real prevalence (share of patients)")
    ax.set_ylabel("synthetic prevalence")
    ax.set_title("Code prevalence (share of patients with the code)")
    ax.legend(loc="upper left")
    fig.tight_layout()
    return fig
