"""Singling-out risk in the manner of anonymeter (Giomi et al. 2023, Sec. 4.1): predicates that
isolate exactly one synthetic row are tried on the training rows; each one that isolates
exactly one training row is a success. The same predicates on the test rows are the control,
random predicates the baseline. Univariate predicates use rare or extreme values of one column;
multivariate ones take ``n_cols`` values of one synthetic row (``<=``/``>=`` for numbers)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from synthscape.evaluation._encode import codes, numeric
from synthscape.evaluation.attacks._risk import summary
from synthscape.schema import TableSchema

Query = tuple[tuple[int, str, float], ...]  # (column index, "<=" | ">=" | "==" | "isna", value)


def _matrix(df: pd.DataFrame, schema: TableSchema) -> np.ndarray:
    cols = []
    for c in schema.modelled():
        if c.kind in ("numerical", "datetime"):
            cols.append(numeric(df[c.name], c))
        else:
            k = codes(df[c.name], c).astype(float)
            k[k == len(c.values)] = np.nan
            cols.append(k)
    return np.column_stack(cols)


def _count(m: np.ndarray, q: Query) -> int:
    mask = np.ones(len(m), bool)
    for j, op, v in q:
        x = m[:, j]
        mask &= np.isnan(x) if op == "isna" else (x <= v if op == "<=" else
                                                    (x >= v if op == ">=" else x == v))
    return int(mask.sum())


def univariate_queries(m: np.ndarray, numerical: list[bool], n: int,
                       rng: np.random.Generator) -> list[Query]:
    out: list[Query] = []
    for j in range(m.shape[1]):
        x = m[:, j]
        if np.isnan(x).sum() == 1:
            out.append(((j, "isna", 0.0),))
        v = x[~np.isnan(x)]
        if len(v) == 0:
            continue
        if numerical[j]:
            out += [((j, "<=", float(v.min())),), ((j, ">=", float(v.max())),)]
        vals, cnt = np.unique(v, return_counts=True)
        out += [((j, "==", float(u)),) for u in vals[cnt == 1]]
    out = list(dict.fromkeys(out))
    if len(out) > n:
        out = [out[i] for i in rng.choice(len(out), n, replace=False)]
    return out


def _from_row(row: np.ndarray, cols: np.ndarray, numerical: list[bool],
              rng: np.random.Generator) -> Query:
    q = []
    for j in cols:
        if np.isnan(row[j]):
            q.append((int(j), "isna", 0.0))
        elif numerical[j]:
            q.append((int(j), str(rng.choice(["<=", ">="])), float(row[j])))
        else:
            q.append((int(j), "==", float(row[j])))
    return tuple(q)


def multivariate_queries(m: np.ndarray, numerical: list[bool], n: int, n_cols: int,
                         rng: np.random.Generator, max_attempts: int | None = None) -> list[Query]:
    found: dict[Query, None] = {}
    n_cols = min(n_cols, m.shape[1])
    attempts = max_attempts or 50 * n
    rows = m[rng.integers(len(m), size=attempts)]
    cols = np.argsort(rng.random((attempts, m.shape[1])), axis=1)[:, :n_cols]
    ups = rng.random((attempts, n_cols)) < 0.5
    for i in range(attempts):
        if len(found) >= n:
            break
        q = tuple((int(j), "isna", 0.0) if np.isnan(rows[i, j]) else
                  (int(j), (">=" if ups[i, k] else "<=") if numerical[j] else "==",
                   float(rows[i, j]))
                  for k, j in enumerate(cols[i]))
        if q not in found and _count(m, q) == 1:
            found[q] = None
    return list(found)


def _random_queries(m: np.ndarray, numerical: list[bool], n: int, n_cols: int,
                    rng: np.random.Generator) -> list[Query]:
    """Predicates with values drawn at random from each column of the synthetic rows."""
    out = []
    for _ in range(n):
        cols = rng.choice(m.shape[1], min(n_cols, m.shape[1]), replace=False)
        row = np.array([m[rng.integers(len(m)), j] for j in range(m.shape[1])])
        out.append(_from_row(row, cols, numerical, rng))
    return out


def singling_out(train: pd.DataFrame, test: pd.DataFrame, syn: pd.DataFrame,
                 schema: TableSchema, rng: np.random.Generator, *, mode: str = "multivariate",
                 n_attacks: int = 500, n_cols: int = 3, confidence: float = 0.95) -> dict:
    """Risk of ``mode`` ("univariate" or "multivariate") singling out, with its interval.

    Rates are over the predicates actually found (anonymeter divides by the number requested,
    which underestimates the risk when fewer are found)."""
    numerical = [c.kind in ("numerical", "datetime") for c in schema.modelled()]
    ms, mtr, mte = _matrix(syn, schema), _matrix(train, schema), _matrix(test, schema)
    if mode == "univariate":
        queries, k = univariate_queries(ms, numerical, n_attacks, rng), 1
    else:
        queries, k = multivariate_queries(ms, numerical, n_attacks, n_cols, rng), n_cols
    n = len(queries)
    prefix = f"singling_out_{mode}"
    if n == 0:
        return {f"{prefix}_risk": 0.0, f"{prefix}_n_queries": 0}
    success = sum(_count(mtr, q) == 1 for q in queries)
    control = sum(_count(mte, q) == 1 for q in queries)
    baseline = sum(_count(mtr, q) == 1 for q in _random_queries(ms, numerical, n, k, rng))
    out = summary(prefix, n, success, baseline, control, confidence)
    out[f"{prefix}_n_queries"] = n
    return out
