"""Schema-driven discretisation for marginal-based generators (MST, AIM, independent).

Each modelled column becomes integer codes ``0 .. size-1``:

- numerical / datetime: bins over the declared bounds, either ``uniform`` (free: the bounds are
  public) or ``quantile`` (edges at quantiles of a noisy fine histogram, paid through the ledger);
- categorical / boolean: the index of the value in the schema's list;
- nullable columns: one extra, last code for missing values.

``decode`` maps codes back: a value uniform within its bin, or, when a noisy fine histogram was
measured, drawn from the fine histogram's shape inside the bin. Only the schema and ledger-paid
statistics are stored, so saving a discretizer discloses nothing unpaid.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from synthscape.errors import ParameterError
from synthscape.privacy.ledger import PrivacyLedger
from synthscape.privacy.mechanisms import gaussian_mechanism
from synthscape.schema import TableSchema
from synthscape.schema.column import Column

METHODS = ("uniform", "quantile")


@dataclass(frozen=True)
class ColumnBins:
    """How one column maps to codes. ``edges`` (numerical) has ``bins + 1`` entries;
    ``fine_edges``/``fine_weights`` (optional) give the shape within bins."""

    name: str
    kind: str
    nullable: bool
    values: tuple | None = None
    edges: np.ndarray | None = None
    fine_edges: np.ndarray | None = None
    fine_weights: np.ndarray | None = None

    @property
    def bin_edges(self) -> np.ndarray:
        """``edges`` of a numerical column (an error for a categorical one)."""
        if self.edges is None:
            raise ParameterError(f"column {self.name!r} is categorical: it has no bin edges")
        return self.edges

    @property
    def n_values(self) -> int:
        return len(self.values) if self.values is not None else len(self.bin_edges) - 1

    @property
    def size(self) -> int:
        return self.n_values + int(self.nullable)

    @property
    def null_code(self) -> int | None:
        return self.n_values if self.nullable else None


def column_as_float(kind: str, s: pd.Series) -> np.ndarray:
    """Numerical values as floats, datetimes as epoch seconds (numbers count as epoch
    seconds already); missing as NaN."""
    if kind == "datetime" and not pd.api.types.is_numeric_dtype(s):
        ts = pd.to_datetime(s)
        out = ts.to_numpy("datetime64[ns]").astype("int64").astype(float) / 1e9
        out[ts.isna().to_numpy()] = np.nan
        return out
    return pd.to_numeric(s, errors="coerce").to_numpy(float)


def _uniform_edges(col: Column, bins: int) -> np.ndarray:
    lo, hi = col.bounds
    if col.kind == "numerical" and col.integer and hi - lo + 1 <= bins:
        return np.arange(lo - 0.5, hi + 1.0, 1.0)  # one bin per integer value
    return np.linspace(lo, hi, bins + 1)


class Discretizer:
    """Reversible column-wise binning; build it with :meth:`fit`."""

    def __init__(self, columns: list[ColumnBins]):
        self.columns = columns

    # ---- construction ------------------------------------------------------------------
    @classmethod
    def fit(
        cls,
        data: pd.DataFrame,
        schema: TableSchema,
        *,
        bins: int = 32,
        method: str = "uniform",
        ledger: PrivacyLedger | None = None,
        rho: float | None = None,
        fine: int = 256,
    ) -> Discretizer:
        """Bins from the schema; with ``method="quantile"`` one noisy fine histogram per
        numerical/datetime column is measured with zCDP ``rho`` in total, spent in ``ledger``."""
        if method not in METHODS:
            raise ParameterError(f"binning method must be one of {METHODS}, got {method!r}")
        if not isinstance(bins, int) or bins < 2:
            raise ParameterError(f"bins must be an int >= 2, got {bins!r}")
        cols = schema.modelled()
        numeric = [c for c in cols if c.kind in ("numerical", "datetime")]
        sigma = None
        if method == "quantile" and numeric:
            if ledger is None or rho is None:
                raise ParameterError("quantile binning needs a ledger and a rho")
            sigma = math.sqrt(len(numeric) / (2.0 * rho))  # Bun and Steinke 2016, Prop. 1.6
            paying = ledger
        out = []
        for c in cols:
            if c.kind in ("categorical", "boolean"):
                out.append(ColumnBins(c.name, c.kind, c.nullable, values=tuple(c.values)))
            elif sigma is None:
                out.append(ColumnBins(c.name, c.kind, c.nullable, edges=_uniform_edges(c, bins)))
            else:
                out.append(_quantile_bins(c, data[c.name], bins, fine, sigma, paying))
        return cls(out)

    # ---- queries -----------------------------------------------------------------------
    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def sizes(self) -> list[int]:
        return [c.size for c in self.columns]

    def __getitem__(self, name: str) -> ColumnBins:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    def code_of(self, name: str, value: Any) -> int:
        """Code of a categorical/boolean value (for conditions)."""
        col = self[name]
        if col.values is None:
            raise ParameterError(f"column {name!r} is {col.kind}; conditions need a discrete one")
        for i, v in enumerate(col.values):
            if v == value:
                return i
        raise ParameterError(f"{value!r} is not a category of {name!r}; "
                             f"allowed: {list(col.values)}")

    # ---- encode / decode ---------------------------------------------------------------
    def encode(self, data: pd.DataFrame) -> np.ndarray:
        """Codes as an ``(n_rows, n_columns)`` int array (schema-validated data in)."""
        n = len(data)
        out = np.empty((n, len(self.columns)), dtype=np.int64)
        for j, c in enumerate(self.columns):
            s = data[c.name]
            if c.values is None:
                x = column_as_float(c.kind, s)
                code = np.clip(np.searchsorted(c.bin_edges, x, side="right") - 1, 0,
                               c.n_values - 1)
                miss = np.isnan(x)
            else:
                lookup = {v: i for i, v in enumerate(c.values)}
                miss = s.isna().to_numpy()
                code = s.map(lambda v, lookup=lookup: -1 if pd.isna(v) else lookup.get(v, -1)
                             ).to_numpy(np.int64)
                if c.kind == "boolean":
                    flags = s.fillna(False).astype(bool).to_numpy().astype(np.int64)
                    code = np.where(miss, -1, flags)
            if miss.any():
                if not c.nullable:
                    raise ParameterError(f"column {c.name!r} has missing values but the schema "
                                         f"does not declare it nullable")
                code = np.where(miss, c.n_values, code)  # the null code
            if (code < 0).any():
                raise ParameterError(f"column {c.name!r} has values outside the schema")
            out[:, j] = code
        return out

    def decode(self, codes: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
        """Values in encoded-native form (numerical/datetime as float, discrete as values)."""
        out = {}
        for j, c in enumerate(self.columns):
            code = codes[:, j]
            if c.values is not None:
                if all(isinstance(v, str) for v in c.values):  # cheap: no per-row objects
                    code = np.where(code == c.null_code, -1, code) if c.nullable else code
                    out[c.name] = pd.Categorical.from_codes(code, categories=list(c.values))
                    continue
                vals = np.array(list(c.values) + [None], dtype=object)
                code = np.where(code == c.null_code, len(c.values), code) if c.nullable else code
                out[c.name] = vals[code]
                continue
            miss = code == c.null_code if c.nullable else None
            b = np.minimum(code, c.n_values - 1)
            u = rng.random(len(code))
            if c.fine_weights is None:
                lo, hi = c.bin_edges[b], c.bin_edges[b + 1]
                x = lo + u * (hi - lo)
            else:
                x = _decode_fine(c, b, u, rng)
            if miss is not None:
                x = np.where(miss, np.nan, x)
            out[c.name] = x
        return pd.DataFrame(out, columns=self.names)

    # ---- persistence -------------------------------------------------------------------
    def get_state(self, prefix: str = "disc") -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        meta, arrays = [], {}
        for j, c in enumerate(self.columns):
            meta.append({"name": c.name, "kind": c.kind, "nullable": c.nullable,
                         "values": None if c.values is None else list(c.values)})
            for key in ("edges", "fine_edges", "fine_weights"):
                if getattr(c, key) is not None:
                    arrays[f"{prefix}_{j}_{key}"] = getattr(c, key)
        return {"columns": meta}, arrays

    @classmethod
    def from_state(cls, state: dict[str, Any], arrays: dict[str, np.ndarray],
                   prefix: str = "disc") -> Discretizer:
        cols = []
        for j, m in enumerate(state["columns"]):
            extra = {k: arrays.get(f"{prefix}_{j}_{k}")
                     for k in ("edges", "fine_edges", "fine_weights")}
            values = None if m["values"] is None else tuple(m["values"])
            cols.append(ColumnBins(m["name"], m["kind"], m["nullable"], values=values, **extra))
        return cls(cols)


def _quantile_bins(col: Column, s: pd.Series, bins: int, fine: int, sigma: float,
                   ledger: PrivacyLedger) -> ColumnBins:
    """Noisy fine histogram over the declared bounds (sensitivity 1 under add/remove), then
    edges at its quantiles; the fine histogram also shapes values within each bin."""
    fine_edges = _uniform_edges(col, fine)
    x = column_as_float(col.kind, s)
    x = x[~np.isnan(x)]
    k = len(fine_edges) - 1
    counts = np.bincount(np.clip(np.searchsorted(fine_edges, x, side="right") - 1, 0, k - 1),
                         minlength=k).astype(float)
    noisy = gaussian_mechanism(counts, noise_multiplier=sigma, sensitivity=1.0, ledger=ledger,
                               label=f"fine histogram of {col.name}")
    w = np.clip(noisy, 0, None) + 1e-9
    cdf = np.cumsum(w) / w.sum()
    cut = np.searchsorted(cdf, np.arange(1, bins) / bins, side="left") + 1
    idx = np.unique(np.concatenate([[0], np.clip(cut, 1, k - 1), [k]]))
    return ColumnBins(col.name, col.kind, col.nullable, edges=fine_edges[idx],
                      fine_edges=fine_edges, fine_weights=w / w.sum())


def _decode_fine(c: ColumnBins, b: np.ndarray, u: np.ndarray,
                 rng: np.random.Generator) -> np.ndarray:
    """Draw a fine cell inside bin ``b`` in proportion to the fine weights, then uniform in it."""
    fe, w, edges = c.fine_edges, c.fine_weights, c.bin_edges
    assert fe is not None and w is not None  # the caller checked that fine weights exist
    cum = np.concatenate([[0.0], np.cumsum(w)])
    start = np.searchsorted(fe, edges[:-1] + 1e-12 * (fe[-1] - fe[0]), side="right") - 1
    stop = np.searchsorted(fe, edges[1:] - 1e-12 * (fe[-1] - fe[0]), side="left")
    s, e = start[b], stop[b]
    target = cum[s] + u * (cum[e] - cum[s])
    cell = np.clip(np.searchsorted(cum, target, side="right") - 1, s, e - 1)
    v = rng.random(len(b))
    return fe[cell] + v * (fe[cell + 1] - fe[cell])
