"""The release report: what may be shown with a release, computed only from released outputs.

Inputs are the synthetic tables, public metadata (the declared or DP-released schema, the
spec) and the ledger (whose epsilon is the only one printed). Nothing here reads the real data,
so the report is post-processing of the release and covered by the same ledger. Statistics of
the real data (fidelity, utility, attacks) belong in the internal evaluation.

- :func:`overview_section`: synthetic row counts and the privacy statement read from the ledger.
- :func:`describe_table`: per-column summaries of one synthetic table and a figure of its
  marginals (bars and histograms of the synthetic values only; bins on the declared bounds).
- :func:`provenance_text`: where a table schema came from (declared, DP-inferred, free).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from synthscape.evaluation.report import Report

_COLOR = "#ff7f0e"


def overview_section(report: Report, *, rows: Mapping[str, int], ledger: Mapping[str, Any],
                     reads_real_data: bool, has_internal: bool) -> None:
    """The first section: synthetic row counts and the privacy statement from ``ledger``."""
    scores: dict[str, Any] = {"reads_real_data": reads_real_data}
    if reads_real_data or ledger.get("events"):
        scores.update(private=ledger.get("private"), epsilon=ledger.get("epsilon"),
                      delta=ledger.get("delta"))
        unit = (ledger.get("budget") or {}).get("unit")
        if unit:
            scores["unit_of_privacy"] = unit
    scores.update({f"{name}_rows": int(n) for name, n in sorted(rows.items())})
    notes = [f"Privacy: {ledger.get('summary', '')} (read from ledger.json)."]
    notes.append("Everything in this report is computed from the synthetic data, the declared "
                 "schema and spec, and the ledger; it is covered by ledger.json.")
    if has_internal:
        notes.append("The evaluation against the real data is kept apart in the run's "
                     "internal folder, which is not covered by the privacy guarantee.")
    sections = dict(report.sections)
    report.sections.clear()
    report.add_section("release", title="Release", scores=scores, notes=notes)
    report.sections.update({k: v for k, v in sections.items() if k != "release"})


def provenance_text(how: str | None, declared: str | None = None) -> str:
    """A sentence on where a schema came from: ``how`` is a schema's ``provenance``
    ("declared", "dp" or "free"); ``declared`` names the declaration (e.g. the file)."""
    if how == "dp":
        return ("Schema inferred from the real data under differential privacy; its cost is "
                "in ledger.json.")
    if how == "free":
        return ("Schema inferred from the real data WITHOUT differential privacy: its bounds "
                "and categories disclose real values, and the ledger is NOT PRIVATE.")
    if how == "declared":
        return f"Schema declared{' in ' + declared if declared else ''}: nothing was spent on it."
    return "Schema provenance unknown."


def describe_table(report: Report, name: str, df: pd.DataFrame, *, schema: Any = None,
                   save_figure: Callable[[str, Any], str] | None = None,
                   provenance: str | None = None, max_columns: int = 16,
                   title: str | None = None) -> None:
    """Section ``table_<name>``: rows, per-column summaries and (with ``save_figure``) a
    figure ``marginals_<name>.png`` of the synthetic marginals."""
    kinds = _kinds(df, schema)
    rows = [_summary(df[c], kinds[c], schema, c) for c in df.columns]
    figures = []
    if save_figure is not None and len(df):
        fig = _marginals_figure(name, df, kinds, schema, max_columns)
        if fig is not None:
            figures.append(save_figure(f"marginals_{name}", fig))
    notes = [provenance] if provenance else []
    report.add_section(f"table_{name}", title=title or f"Synthetic table '{name}'",
                       scores={"rows": len(df), "columns": df.shape[1]},
                       tables={"columns": rows}, figures=figures, notes=notes)


# ---- summaries --------------------------------------------------------------------------------
def _kinds(df: pd.DataFrame, schema: Any) -> dict[str, str]:
    declared = {c.name: c.kind for c in schema.columns} if schema is not None else {}
    out = {}
    for c in df.columns:
        if c in declared:
            out[c] = declared[c]
            continue
        s = df[c]
        if pd.api.types.is_bool_dtype(s):
            out[c] = "boolean"
        elif pd.api.types.is_numeric_dtype(s):
            out[c] = "numerical"
        elif pd.api.types.is_datetime64_any_dtype(s):
            out[c] = "datetime"
        else:
            n = s.nunique(dropna=True)
            out[c] = "categorical" if n <= 30 or n <= 0.05 * len(s) else "text"
    return out


def _summary(s: pd.Series, kind: str, schema: Any, name: str) -> dict[str, Any]:
    row: dict[str, Any] = {"column": name, "kind": kind, "missing_share": float(s.isna().mean())
                           if len(s) else None, "distinct": int(s.nunique(dropna=True))}
    stats: dict[str, Any] = dict.fromkeys(("mean", "std", "min", "median", "max"))
    top = ""
    if kind in ("numerical", "datetime"):
        x = _numeric(s, kind)
        x = x[~np.isnan(x)]
        if len(x):
            q = np.quantile(x, [0.0, 0.5, 1.0])
            stats = {"mean": float(x.mean()), "std": float(x.std()), "min": float(q[0]),
                     "median": float(q[1]), "max": float(q[2])}
            if kind == "datetime":
                stats = {k: (str(pd.Timestamp(v, unit="s").date()) if k != "std" else
                             f"{v / 86400:.4g} days") for k, v in stats.items()}
    elif kind not in ("id", "text"):
        shares = s.astype(object).where(s.notna(), None).value_counts(normalize=True,
                                                                      dropna=True)
        top = ", ".join(f"{v}: {p:.1%}" for v, p in shares.head(5).items())
    row.update(stats)
    row["top_values"] = top
    return row


def _numeric(s: pd.Series, kind: str) -> np.ndarray:
    if kind == "datetime":
        ts = pd.to_datetime(s, errors="coerce")
        return (ts - pd.Timestamp("1970-01-01")).dt.total_seconds().to_numpy(float)
    return pd.to_numeric(s, errors="coerce").to_numpy(float)


# ---- figure -----------------------------------------------------------------------------------
def _marginals_figure(name: str, df: pd.DataFrame, kinds: dict[str, str], schema: Any,
                      max_columns: int):
    cols = [c for c in df.columns if kinds[c] not in ("id", "text")
            and df[c].nunique(dropna=False) > 1]  # constant columns are in the table only
    if not cols:
        return None
    from synthscape.evaluation.figures import subplots

    shown = cols[:max_columns]
    ncol = min(4, len(shown))
    nrow = int(np.ceil(len(shown) / ncol))
    height = 2.3 * nrow + 1.0
    fig, axes = subplots(nrow, ncol, figsize=(3.4 * ncol, height), squeeze=False)
    declared = {c.name: c for c in schema.columns} if schema is not None else {}
    for ax, c in zip(axes.flat, shown):
        col = declared.get(c)
        if kinds[c] in ("numerical", "datetime"):
            x = _numeric(df[c], kinds[c])
            x = x[~np.isnan(x)]
            lo, hi = col.bounds if col is not None else (
                (float(x.min()), float(x.max())) if len(x) else (0.0, 1.0))
            if hi <= lo:
                hi = lo + 1.0
            ax.hist(x, bins=np.linspace(lo, hi, 31), color=_COLOR,
                    weights=np.full(len(x), 1.0 / max(len(df), 1)))
            ax.set_ylabel("share of rows", fontsize=7)
            if kinds[c] == "datetime":
                ticks = np.linspace(lo, hi, 3)
                ax.set_xticks(ticks, [str(pd.Timestamp(t, unit="s").date()) for t in ticks])
        else:
            values = list(col.values) if col is not None and kinds[c] != "boolean" else None
            shares = df[c].astype(object).value_counts(normalize=True, dropna=False)
            if values is not None:
                shares = shares.reindex(values, fill_value=0.0)
            shares = shares.head(15)
            labels = [str(v)[:10] for v in shares.index]
            x = np.arange(len(labels))
            ax.bar(x, shares.to_numpy(float), color=_COLOR)
            turn = len(labels) > 4 or max(map(len, labels), default=0) > 6
            ax.set_xticks(x, labels, rotation=35 if turn else 0,
                          ha="right" if turn else "center")
            ax.set_ylabel("share of rows", fontsize=7)
        ax.set_title(c, fontsize=9)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(shown):]:
        ax.axis("off")
    title = f"Synthetic table '{name}': {len(df):,} rows"
    if len(cols) > max_columns:
        title += f" (first {max_columns} of {len(cols)} columns)"
    fig.suptitle(title)
    fig.subplots_adjust(left=0.07, right=0.98, top=1 - 0.55 / height, bottom=0.75 / height,
                        hspace=0.7, wspace=0.35)
    return fig
