"""Validation of a DataFrame against a TableSchema: collect every problem, raise once."""
from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from synthscape.errors import SchemaError

if TYPE_CHECKING:
    from synthscape.schema.table import TableSchema

_EXAMPLES = 3


def _rows(mask: np.ndarray, index: pd.Index) -> str:
    rows = list(index[np.asarray(mask)][:_EXAMPLES])
    n = int(np.sum(mask))
    more = f" and {n - len(rows)} more" if n > len(rows) else ""
    return f"{n} row(s), e.g. rows {rows}{more}"


def validate_frame(
    schema: TableSchema, df: pd.DataFrame, *, out_of_bounds: str, source: str
) -> pd.DataFrame:
    if out_of_bounds not in ("error", "clip"):
        raise ValueError(f"out_of_bounds must be 'error' or 'clip', got {out_of_bounds!r}")
    if not isinstance(df, pd.DataFrame):
        raise SchemaError(f"{source}: expected a pandas DataFrame, got {type(df).__name__}")
    problems: list[str] = []
    if len(df) == 0:
        raise SchemaError(f"{source}: the table is empty (0 rows); a generator needs data to fit")
    missing = [n for n in schema.names if n not in df.columns]
    extra = [c for c in df.columns if c not in schema.names]
    if missing:
        problems.append(f"missing column(s) {missing}: add them or remove them from the schema")
    if extra:
        problems.append(f"column(s) {extra} are not in the schema: declare them or drop them")
    out = {}
    clipped: list[str] = []
    for col in schema.columns:
        if col.name not in df.columns:
            continue
        s = df[col.name]
        where = f"column '{col.name}'"
        null = s.isna().to_numpy()
        if null.any() and not col.nullable:
            problems.append(
                f"{where}: missing values (NaN/None) in a non-nullable column, "
                f"{_rows(null, df.index)}; impute them or declare nullable: true"
            )
        if col.kind == "numerical":
            num = pd.to_numeric(s, errors="coerce")
            bad = num.isna().to_numpy() & ~null
            if bad.any():
                problems.append(f"{where}: non-numeric values, {_rows(bad, df.index)}")
            lo, hi = col.bounds
            outside = ((num < lo) | (num > hi)).to_numpy() & ~np.isnan(num.to_numpy(float))
            if outside.any():
                if out_of_bounds == "clip":
                    clipped.append(f"{col.name} ({int(outside.sum())} values)")
                    num = num.clip(lo, hi)
                else:
                    problems.append(
                        f"{where}: values outside the declared bounds [{lo:g}, {hi:g}], "
                        f"{_rows(outside, df.index)}; widen the bounds or use "
                        f"out_of_bounds='clip'"
                    )
            out[col.name] = num.astype(float)
        elif col.kind == "datetime":
            ts = pd.to_datetime(s, errors="coerce")
            bad = ts.isna().to_numpy() & ~null
            if bad.any():
                problems.append(f"{where}: values that are not dates, {_rows(bad, df.index)}")
            lo, hi = pd.Timestamp(col.lower), pd.Timestamp(col.upper)
            outside = ((ts < lo) | (ts > hi)).to_numpy()
            if outside.any():
                if out_of_bounds == "clip":
                    clipped.append(f"{col.name} ({int(outside.sum())} values)")
                    ts = ts.clip(lo, hi)
                else:
                    problems.append(
                        f"{where}: dates outside [{lo}, {hi}], {_rows(outside, df.index)}"
                    )
            out[col.name] = ts
        elif col.kind == "categorical":
            allowed = set(col.categories or ())
            unknown = ~s.isin(list(allowed)).to_numpy() & ~null
            if unknown.any():
                vals = list(pd.unique(s[unknown]))[:_EXAMPLES]
                problems.append(
                    f"{where}: values not among the declared categories, e.g. {vals}, "
                    f"{_rows(unknown, df.index)}; add them to 'categories'"
                )
            out[col.name] = s
        elif col.kind == "boolean":
            ok = s.isin([True, False, 0, 1]).to_numpy() | null
            if (~ok).any():
                problems.append(f"{where}: values that are not boolean, {_rows(~ok, df.index)}")
            out[col.name] = s.map(lambda v: v if pd.isna(v) else bool(v))
        else:  # id
            out[col.name] = s
    if problems:
        raise SchemaError(f"{source} does not match schema '{schema.name}'", problems)
    if clipped:
        warnings.warn(
            f"{source}: clipped values outside declared bounds in {', '.join(clipped)}",
            UserWarning,
            stacklevel=3,
        )
    return pd.DataFrame(out, index=df.index)[schema.names]
