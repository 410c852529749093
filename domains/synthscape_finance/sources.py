"""Read a transaction log from files (Parquet or CSV) in the simulator's table layout and check
it against the declared schema, with one error that names the file, the column and the fix.

Required columns (others are ignored):

- transactions: ``tx_id``, ``timestamp``, ``account_id`` (or ``customer_id`` when there is no
  accounts file), ``channel``, ``amount``; optional ``mcc``, ``status``, ``device_id``,
  ``region``, ``alerted``, and ``is_fraud`` / ``typology`` when there is no labels file.
- labels: ``tx_id``, ``is_fraud``; optional ``typology``.
- customers: ``customer_id``; optional ``age_band``, ``income``, ``region``, ``segment``,
  ``sensitive_group``.
- accounts (optional): ``account_id``, ``customer_id``; optional ``account_kind``,
  ``opening_balance``.

A missing optional column takes a fixed default (stated in :data:`DEFAULTS`), never a value
computed from the data.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synthscape.errors import SchemaError

REQUIRED = {
    "transactions": ("tx_id", "timestamp", "channel", "amount"),
    "labels": ("tx_id", "is_fraud"),
    "customers": ("customer_id",),
    "accounts": ("account_id", "customer_id"),
}
DEFAULTS: dict[str, dict[str, Any]] = {
    "transactions": {"mcc": pd.NA, "status": "approved", "device_id": pd.NA, "region": 0,
                     "alerted": False, "typology": None},
    "labels": {"typology": None},
    "customers": {"age_band": "26-40", "income": 0.0, "region": 0, "segment": "mass",
                  "sensitive_group": "A"},
    "accounts": {"account_kind": "checking", "opening_balance": 0.0},
}


def read_log(transactions: Any, customers: Any, *, labels: Any = None,
             accounts: Any = None) -> dict[str, pd.DataFrame]:
    """The four frames of a log (each argument a path or a DataFrame), checked and completed
    with the defaults; ``accounts`` is made (one checking account per customer) when absent."""
    from synthscape.io import read_table

    def load(name: str, src: Any) -> tuple[pd.DataFrame, str]:
        if isinstance(src, pd.DataFrame):
            return src.copy(), f"the {name} frame"
        return read_table(Path(src)), str(src)

    tx, tx_src = load("transactions", transactions)
    cu, cu_src = load("customers", customers)
    need = list(REQUIRED["transactions"])
    if accounts is None:
        need.append("customer_id")
    elif "account_id" not in tx:
        need.append("account_id")
    if labels is None:
        need.append("is_fraud")
    _require(tx, tx_src, "transactions", need)
    _require(cu, cu_src, "customers", REQUIRED["customers"])
    if accounts is None:
        ids = cu["customer_id"].to_numpy()
        ac = pd.DataFrame({"account_id": ids, "customer_id": ids})
        tx["account_id"] = tx["customer_id"]
        ac_src = "the accounts made from the customers (one per customer)"
    else:
        ac, ac_src = load("accounts", accounts)
        _require(ac, ac_src, "accounts", REQUIRED["accounts"])
    if labels is None:
        lab = tx[["tx_id", "is_fraud", *(["typology"] if "typology" in tx else [])]].copy()
        lab_src = tx_src
    else:
        lab, lab_src = load("labels", labels)
        _require(lab, lab_src, "labels", REQUIRED["labels"])
    out = {}
    for name, df in (("transactions", tx), ("labels", lab), ("customers", cu),
                     ("accounts", ac)):
        for col, value in DEFAULTS[name].items():
            if col not in df:
                df[col] = value
        out[name] = df
    lab = out["labels"]
    lab["typology"] = np.where(lab["typology"].isna(),
                               np.where(_bool(lab["is_fraud"], lab_src, "is_fraud"),
                                        "lone_fraud", "none"), lab["typology"].astype(str))
    _check_values(out, {"transactions": tx_src, "labels": lab_src, "customers": cu_src,
                        "accounts": ac_src})
    out["transactions"] = tx.drop(columns=[c for c in ("is_fraud", "typology") if c in tx])
    return out


def _require(df: pd.DataFrame, src: str, name: str, columns) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise SchemaError(f"{name} file {src}: missing column(s) {missing}; the learned "
                          f"source reads the simulator's layout (see data_schemas/finance/"
                          f"{'tx_labels' if name == 'labels' else name}.json): rename the "
                          f"columns or add them", [f"columns found: {list(df.columns)}"])


def _bool(s: pd.Series, src: str, col: str) -> np.ndarray:
    if s.dtype == bool:
        return s.to_numpy()
    text = s.astype(str).str.lower()
    ok = text.isin(["true", "false", "1", "0", "yes", "no"])
    if not ok.all():
        raise SchemaError(f"{src}: column '{col}' must be boolean (true/false, 1/0, yes/no); "
                          f"found {sorted(text[~ok].unique())[:5]}: fix the values")
    return text.isin(["true", "1", "yes"]).to_numpy()


def _check_values(frames: dict[str, pd.DataFrame], sources: dict[str, str]) -> None:
    """Categories and bounds the declared schema allows; every key joins."""
    from synthscape_finance import events as E
    from synthscape_finance import mcc, population

    allowed = {
        ("transactions", "channel"): E.CHANNELS, ("transactions", "status"): E.STATUSES,
        ("labels", "typology"): E.TYPOLOGY_NAMES,
        ("customers", "age_band"): population.AGE_BANDS,
        ("customers", "segment"): population.SEGMENTS,
        ("customers", "sensitive_group"): ("A", "B"),
        ("accounts", "account_kind"): population.ACCOUNT_KINDS,
    }
    for (name, col), values in allowed.items():
        seen = frames[name][col].dropna().astype(str)
        bad = sorted(set(seen.unique()) - set(values))
        if bad:
            raise SchemaError(f"{sources[name]}: column '{col}' has value(s) {bad[:5]} outside "
                              f"the declared categories {list(values)}: map them to one of "
                              f"these")
    tx = frames["transactions"]
    codes = pd.to_numeric(tx["mcc"], errors="coerce").dropna()
    bad_mcc = sorted(set(codes.astype(int)) - set(mcc.CODES.tolist()))
    if bad_mcc:
        raise SchemaError(f"{sources['transactions']}: column 'mcc' has code(s) {bad_mcc[:5]} "
                          f"outside the declared merchant categories {mcc.CODES.tolist()}: "
                          f"map them or set them empty")
    amount = pd.to_numeric(tx["amount"], errors="coerce")
    if amount.isna().any() or (amount <= 0).any():
        raise SchemaError(f"{sources['transactions']}: column 'amount' must be a positive "
                          f"number of dollars on every row: fix or drop the other rows")
    tx["amount"] = amount
    frames["labels"]["is_fraud"] = _bool(frames["labels"]["is_fraud"], sources["labels"],
                                         "is_fraud")
    tx["alerted"] = _bool(tx["alerted"], sources["transactions"], "alerted")
    ts = pd.to_datetime(tx["timestamp"], errors="coerce")
    if ts.isna().any():
        raise SchemaError(f"{sources['transactions']}: column 'timestamp' has "
                          f"{int(ts.isna().sum())} value(s) that are not times: use ISO "
                          f"timestamps such as 2025-01-06 13:45:00")
    tx["timestamp"] = ts
    links = (("transactions", "account_id", "accounts", "account_id"),
             ("accounts", "customer_id", "customers", "customer_id"),
             ("labels", "tx_id", "transactions", "tx_id"))
    for a, col, b, key in links:
        orphan = ~frames[a][col].isin(frames[b][key])
        if orphan.any():
            raise SchemaError(f"{sources[a]}: {int(orphan.sum())} row(s) whose '{col}' is not "
                              f"in {sources[b]} ('{key}'): add the missing {b} rows or drop "
                              f"these")
