"""Figures of the report (matplotlib, imported lazily): marginals overlaid, association heatmaps
real / synthetic / difference, DCR histograms and membership-inference ROC curves.

Each function writes one PNG under ``<folder>/figures/`` and returns its path relative to
``folder``. Associations: Pearson correlation for two numerical columns, Cramer's V (numbers
binned in 10 bins of the real column) for the other pairs.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from synthscape.evaluation._encode import codes, columns_of, numeric
from synthscape.evaluation.fidelity import _bins, _pearson, cramers_v
from synthscape.schema import TableSchema

_REAL, _SYN = "#1f77b4", "#ff7f0e"


def subplots(nrows: int = 1, ncols: int = 1, *, figsize=None, dpi=None, **kwargs):
    """``matplotlib.pyplot.subplots`` without pyplot: ``(figure, axes)`` on an Agg canvas.

    The figure belongs to no backend window and no pyplot state, so drawing never changes the
    process's matplotlib backend; it is freed with its last reference (no ``close`` needed).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, dpi=dpi)
    FigureCanvasAgg(fig)
    return fig, fig.subplots(nrows, ncols, **kwargs)


def _save(fig, folder: Path, name: str) -> str:
    rel = f"figures/{name}.png"
    (folder / "figures").mkdir(parents=True, exist_ok=True)
    fig.savefig(folder / rel, dpi=90, metadata={"Software": None})
    return rel


def marginals(real: pd.DataFrame, syn: pd.DataFrame, schema: TableSchema, folder: Path,
              max_columns: int = 24) -> str:
    cols = columns_of(schema)[:max_columns]
    ncol = min(4, len(cols))
    nrow = int(np.ceil(len(cols) / ncol))
    fig, axes = subplots(nrow, ncol, figsize=(3.4 * ncol, 2.6 * nrow), squeeze=False)
    for ax, col in zip(axes.flat, cols):
        if col.kind in ("numerical", "datetime"):
            r, s = numeric(real[col.name], col), numeric(syn[col.name], col)
            lo, hi = col.bounds
            edges = np.linspace(lo, hi, 31)
            ax.hist(r[~np.isnan(r)], bins=edges, density=True, alpha=0.5, color=_REAL,
                    label="real")
            ax.hist(s[~np.isnan(s)], bins=edges, density=True, alpha=0.5, color=_SYN,
                    label="synthetic")
        else:
            labels = [str(v) for v in col.values][:20]
            k = len(labels)
            pr = np.bincount(codes(real[col.name], col), minlength=len(col.values) + 1)[:k]
            ps = np.bincount(codes(syn[col.name], col), minlength=len(col.values) + 1)[:k]
            x = np.arange(k)
            ax.bar(x - 0.2, pr / max(len(real), 1), 0.4, color=_REAL, label="real")
            ax.bar(x + 0.2, ps / max(len(syn), 1), 0.4, color=_SYN, label="synthetic")
            ax.set_xticks(x, [lab[:10] for lab in labels], rotation=45 if k > 4 else 0,
                          fontsize=7, ha="right" if k > 4 else "center")
        ax.set_title(col.name, fontsize=9)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(cols):]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7)
    title = "Marginals: real vs synthetic"
    if len(columns_of(schema)) > max_columns:
        title += f" (first {max_columns} of {len(columns_of(schema))} columns)"
    fig.suptitle(title)
    # fixed spacing: a layout engine measures every label and is slow on many panels
    fig.subplots_adjust(left=0.05, right=0.98, top=1 - 0.8 / fig.get_figheight(),
                        bottom=0.9 / fig.get_figheight(), hspace=0.75, wspace=0.3)
    return _save(fig, folder, "marginals")


def associations(real: pd.DataFrame, syn: pd.DataFrame, schema: TableSchema,
                 max_columns: int = 30) -> tuple[list[str], np.ndarray, np.ndarray]:
    cols = columns_of(schema)[:max_columns]
    k = len(cols)
    mats = np.eye(k), np.eye(k)
    binned = {c.name: _bins(real[c.name], syn[c.name], c) for c in cols}
    for i in range(k):
        for j in range(i + 1, k):
            a, b = cols[i], cols[j]
            for m, df, side in ((mats[0], real, 0), (mats[1], syn, 1)):
                if a.kind in ("numerical", "datetime") and b.kind in ("numerical", "datetime"):
                    v = _pearson(numeric(df[a.name], a), numeric(df[b.name], b))
                else:
                    v = cramers_v(binned[a.name][side], binned[b.name][side])
                m[i, j] = m[j, i] = 0.0 if np.isnan(v) else v
    return [c.name for c in cols], mats[0], mats[1]


def correlations(real: pd.DataFrame, syn: pd.DataFrame, schema: TableSchema, folder: Path) -> str:
    names, r, s = associations(real, syn, schema)
    fig, axes = subplots(1, 3, figsize=(16, 5.4))
    panels = (("real", r, "RdBu_r", -1), ("synthetic", s, "RdBu_r", -1),
              ("|real - synthetic|", np.abs(r - s), "Reds", 0))
    small = len(names) <= 12
    for ax, (title, m, cmap, vmin) in zip(axes, panels):
        im = ax.imshow(m, cmap=cmap, vmin=vmin, vmax=1)
        ax.set_title(title)
        ax.set_xticks(range(len(names)), names, rotation=90, fontsize=7)
        ax.set_yticks(range(len(names)), names, fontsize=7)
        if small:
            for (i, j), v in np.ndenumerate(m):
                ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=6,
                        color="white" if abs(v) > 0.6 else "black")
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    fig.suptitle("Associations (Pearson for numerical pairs, Cramer's V otherwise)")
    fig.tight_layout()
    return _save(fig, folder, "correlations")


def _overlay(first: np.ndarray, second: np.ndarray, edges: np.ndarray, labels: tuple[str, str],
             axes: tuple[str, str, str], folder: Path, name: str, density: bool) -> str:
    """Two histograms on shared bins; ``axes`` is (x label, y label, title)."""
    fig, ax = subplots(figsize=(7, 3.8))
    ax.hist(first, bins=edges, density=density, alpha=0.5, color=_REAL, label=labels[0])
    ax.hist(second, bins=edges, density=density, alpha=0.5, color=_SYN, label=labels[1])
    ax.set_xlabel(axes[0])
    ax.set_ylabel(axes[1])
    ax.set_title(axes[2])
    ax.legend(fontsize=8)
    fig.tight_layout()
    return _save(fig, folder, name)


def dcr_histogram(dcr_syn: np.ndarray, dcr_test: np.ndarray, folder: Path) -> str:
    hi = float(np.quantile(np.r_[dcr_syn, dcr_test], 0.99)) or 1.0
    return _overlay(np.minimum(dcr_test, hi), np.minimum(dcr_syn, hi), np.linspace(0, hi, 41),
                    (f"test -> train (median {np.median(dcr_test):.3g})",
                     f"synthetic -> train (median {np.median(dcr_syn):.3g})"),
                    ("distance to closest training record (schema-scaled Euclidean)", "density",
                     "Distance to closest record"), folder, "dcr", density=True)


def roc_curves(roc: dict[str, tuple[np.ndarray, np.ndarray, float]], folder: Path) -> str:
    fig, axes = subplots(1, 2, figsize=(10, 4.2))
    for ax, log in zip(axes, (False, True)):
        for name, (fpr, tpr, auc) in roc.items():
            ax.plot(fpr, tpr, label=f"{name} (AUC {auc:.3f})")
        grid = np.logspace(-3, 0, 50) if log else np.linspace(0, 1, 50)
        ax.plot(grid, grid, "k--", lw=0.8, label="chance")
        ax.set_xlabel("false positive rate")
        ax.set_ylabel("true positive rate")
        if log:
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlim(1e-3, 1)
            ax.set_ylim(1e-3, 1.05)
            ax.set_title("log scale (low-FPR regime)")
        else:
            ax.set_title("Membership inference ROC")
        ax.legend(fontsize=8)
    fig.tight_layout()
    return _save(fig, folder, "mia_roc")


def audit_scores(with_scores: list[float], without_scores: list[float], folder: Path) -> str:
    allv = np.r_[with_scores, without_scores]
    return _overlay(np.asarray(without_scores), np.asarray(with_scores),
                    np.linspace(allv.min(), allv.max() + 1e-9, 21),
                    ("fits without the canary", "fits with the canary"),
                    ("attack score: synthetic rows where only the canary puts mass", "trials",
                     "Empirical DP audit"), folder, "audit", density=False)
