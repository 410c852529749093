"""Events as columns of numpy arrays, and the label vocabularies.

One event is one transaction row. Amounts are integer cents so that balances add up exactly.
"""
from __future__ import annotations

import numpy as np

from synthscape_finance.spec import NOISE, TYPOLOGIES

CHANNELS = ("pos", "cnp", "atm", "transfer", "deposit", "cash_deposit")
POS, CNP, ATM, TRANSFER, DEPOSIT, CASH_DEPOSIT = range(len(CHANNELS))
CREDIT_CHANNELS = (DEPOSIT, CASH_DEPOSIT)  # money comes into ``acc`` from outside

TYPOLOGY_NAMES = ("none", *TYPOLOGIES, *NOISE)
STAGES = ("none", "probe", "cashout", "burst", "spree", "access", "drain", "exposure", "misuse",
          "build", "bust", "placement", "layering", "integration", "lone", "lookalike")
# Whether the bank approved the attempt: declined over the overdraft limit of the product
# (``declined_funds``) or declined by the issuer for wrong card details (``declined_card``).
STATUSES = ("approved", "declined_funds", "declined_card")
APPROVED, DECLINED_FUNDS, DECLINED_CARD = range(len(STATUSES))
ROLES = ("none", "source", "intermediate", "target", "hub", "member", "structurer", "lone")

COLUMNS = {
    "t": np.int64,          # seconds since the start of the simulation
    "acc": np.int32,        # account index (debited, or credited for deposits)
    "cp": np.int32,         # counterparty account index of a transfer (-1: none or external)
    "merchant": np.int32,   # merchant index (-1: none)
    "channel": np.int8,
    "amount": np.int64,     # cents, > 0
    "device": np.int32,     # device index (-1: card present)
    "region": np.int16,
    "fraud": np.bool_,
    "laund": np.bool_,
    "typ": np.int8,
    "pid": np.int64,        # pattern id (-1: background)
    "stage": np.int8,
    "drain": np.bool_,      # amount is a share (per mille) of the balance, set when balances run
    "status": np.int8,      # index into STATUSES; declines over the limit are set by balances
}


def typ_code(name: str) -> int:
    return TYPOLOGY_NAMES.index(name)


def stage_code(name: str) -> int:
    return STAGES.index(name)


def empty() -> dict[str, np.ndarray]:
    return {k: np.empty(0, dt) for k, dt in COLUMNS.items()}


def make(n: int, **cols) -> dict[str, np.ndarray]:
    """An event block of ``n`` rows; columns not given take their background default."""
    defaults = {"cp": -1, "merchant": -1, "device": -1, "region": 0, "fraud": False,
                "laund": False, "typ": 0, "pid": -1, "stage": 0, "drain": False, "status": 0}
    out = {}
    for k, dt in COLUMNS.items():
        v = cols.pop(k, defaults.get(k))
        if v is None:
            raise KeyError(f"event column {k!r} is required")
        out[k] = np.broadcast_to(np.asarray(v, dtype=dt), (n,)).copy() if np.ndim(v) == 0 \
            else np.asarray(v, dtype=dt)
        if len(out[k]) != n:
            raise ValueError(f"event column {k!r} has {len(out[k])} rows, expected {n}")
    if cols:
        raise KeyError(f"unknown event columns {sorted(cols)}")
    return out


def concat(blocks: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    blocks = [b for b in blocks if len(b["t"])]
    if not blocks:
        return empty()
    return {k: np.concatenate([b[k] for b in blocks]) for k in COLUMNS}


def take(ev: dict[str, np.ndarray], idx) -> dict[str, np.ndarray]:
    return {k: v[idx] for k, v in ev.items()}


def dollars(x) -> np.ndarray:
    """Dollars to integer cents (at least one cent)."""
    return np.maximum(np.round(np.asarray(x, float) * 100), 1).astype(np.int64)
