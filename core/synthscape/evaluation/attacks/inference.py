"""Attribute-inference risk in the manner of anonymeter (Giomi et al. 2023, Sec. 4.3): knowing
every other column of a target row, guess its secret column from the nearest synthetic row. A
numerical guess counts when within 5% of the true value. Training rows are the targets, test
rows the control, secrets of random synthetic rows the baseline."""
from __future__ import annotations

import numpy as np
import pandas as pd

from synthscape.evaluation.attacks._gower import gower_points
from synthscape.evaluation.attacks._risk import summary
from synthscape.schema import TableSchema


def _correct(guess: pd.Series, truth: pd.Series, numerical: bool, tol: float) -> np.ndarray:
    if numerical:
        g = pd.to_numeric(guess, errors="coerce").to_numpy(float)
        t = pd.to_numeric(truth, errors="coerce").to_numpy(float)
        return np.abs(g - t) <= tol * np.abs(t) + 1e-12
    return np.array([_same(a, b) for a, b in zip(guess.tolist(), truth.tolist())], dtype=bool)


def _same(a, b) -> bool:
    """Equal values, or both missing (pandas' NA compares as NA, not as a bool)."""
    if pd.isna(a) or pd.isna(b):
        return bool(pd.isna(a) and pd.isna(b))
    return bool(a == b)


def inference(train: pd.DataFrame, test: pd.DataFrame, syn: pd.DataFrame, schema: TableSchema,
              secrets: list[str], rng: np.random.Generator, *, n_attacks: int = 500,
              tolerance: float = 0.05, confidence: float = 0.95) -> list[dict]:
    """One row of scores per secret column. The Gower distance on every column but the secret
    is the distance on all columns minus the secret's own term, so each secret costs little."""
    from scipy.spatial.distance import cdist

    names = [c.name for c in schema.modelled()]
    n = int(min(n_attacks, len(train), len(test)))
    tr = train.iloc[rng.choice(len(train), n, replace=False)].reset_index(drop=True)
    te = test.iloc[rng.choice(len(test), n, replace=False)].reset_index(drop=True)
    terms = {}
    for name in names:
        ps, ptr, pte = gower_points([syn, tr, te], schema, [name])
        terms[name] = (cdist(ptr, ps, "cityblock"), cdist(pte, ps, "cityblock"))
    full_tr = sum(t[0] for t in terms.values())
    full_te = sum(t[1] for t in terms.values())
    rows = []
    for secret in secrets:
        kind = schema[secret].kind
        numerical = kind == "numerical"  # datetime: exact match (5% of an epoch is decades)
        if len(names) > 1:
            guess_tr = syn[secret].iloc[np.argmin(full_tr - terms[secret][0], axis=1)]
            guess_te = syn[secret].iloc[np.argmin(full_te - terms[secret][1], axis=1)]
        else:
            guess_tr = guess_te = syn[secret].iloc[rng.choice(len(syn), n)]
        naive = syn[secret].iloc[rng.choice(len(syn), n)].reset_index(drop=True)
        ok = _correct(guess_tr.reset_index(drop=True), tr[secret], numerical, tolerance)
        base = _correct(naive, tr[secret], numerical, tolerance)
        ctl = _correct(guess_te.reset_index(drop=True), te[secret], numerical, tolerance)
        r = summary("inference", n, int(ok.sum()), int(base.sum()), int(ctl.sum()), confidence)
        rows.append({"secret": secret, **{k.removeprefix("inference_"): v for k, v in r.items()}})
    return rows
