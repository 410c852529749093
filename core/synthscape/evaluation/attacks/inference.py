"""Attribute-inference risk in the manner of anonymeter (Giomi et al. 2023, Sec. 4.3): knowing
every other column of a target row, guess its secret column from the nearest synthetic row. A
numerical guess counts when within 5% of the true value. Training rows are the targets, test
rows the control, secrets of random synthetic rows the baseline."""
from __future__ import annotations

import numpy as np
import pandas as pd

from synthscape.evaluation.attacks._gower import gower_points, neighbours
from synthscape.evaluation.attacks._risk import summary
from synthscape.schema import TableSchema


def _correct(guess: pd.Series, truth: pd.Series, numerical: bool, tol: float) -> np.ndarray:
    if numerical:
        g = pd.to_numeric(guess, errors="coerce").to_numpy(float)
        t = pd.to_numeric(truth, errors="coerce").to_numpy(float)
        return np.abs(g - t) <= tol * np.abs(t) + 1e-12
    return np.array([(a == b) or (pd.isna(a) and pd.isna(b))
                     for a, b in zip(guess.tolist(), truth.tolist())])


def inference(train: pd.DataFrame, test: pd.DataFrame, syn: pd.DataFrame, schema: TableSchema,
              secret: str, rng: np.random.Generator, *, n_attacks: int = 500,
              tolerance: float = 0.05, confidence: float = 0.95) -> dict:
    aux = [c.name for c in schema.modelled() if c.name != secret]
    n = int(min(n_attacks, len(train), len(test)))
    tr = train.iloc[rng.choice(len(train), n, replace=False)].reset_index(drop=True)
    te = test.iloc[rng.choice(len(test), n, replace=False)].reset_index(drop=True)
    numerical = schema[secret].kind in ("numerical", "datetime")
    if schema[secret].kind == "datetime":
        numerical = False  # exact match only: 5% of an epoch timestamp is decades
    if not aux:
        guess_tr = guess_te = syn[secret].iloc[rng.choice(len(syn), n)].reset_index(drop=True)
    else:
        ps, ptr, pte = gower_points([syn, tr, te], schema, aux)
        guess_tr = syn[secret].iloc[neighbours(ps, ptr, 1)[:, 0]].reset_index(drop=True)
        guess_te = syn[secret].iloc[neighbours(ps, pte, 1)[:, 0]].reset_index(drop=True)
    naive = syn[secret].iloc[rng.choice(len(syn), n)].reset_index(drop=True)
    ok = _correct(guess_tr, tr[secret], numerical, tolerance)
    base = _correct(naive, tr[secret], numerical, tolerance)
    ctl = _correct(guess_te, te[secret], numerical, tolerance)
    return summary("inference", n, int(ok.sum()), int(base.sum()), int(ctl.sum()), confidence)
