"""Transaction features for a fraud or laundering detector, and per-typology recall at a fixed
false-positive rate. Features use only the published tables (never the labels)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from synthscape_finance.checks import epoch_seconds
from synthscape_finance.events import CHANNELS


def transaction_features(tx: pd.DataFrame, accounts: pd.DataFrame,
                         customers: pd.DataFrame) -> pd.DataFrame:
    """Amount, channel, category, time, device and location novelty, velocity, drain share
    and counterparty fan-in/fan-out, one row per transaction (same order as ``tx``)."""
    t = epoch_seconds(tx["timestamp"])
    acc = tx["account_id"].to_numpy()
    owner = accounts.set_index("account_id")["customer_id"]
    home = customers.set_index("customer_id")["region"]
    home_region = home.reindex(owner.reindex(acc).to_numpy()).to_numpy()
    amount = tx["amount"].to_numpy()
    dev = tx["device_id"].fillna(-1).astype("int64").to_numpy()
    usual = tx[tx["device_id"].notna()].groupby("account_id")["device_id"].agg(
        lambda s: s.value_counts().index[0])
    usual_dev = usual.reindex(acc).fillna(-2).astype("int64").to_numpy()
    # velocity: rows of the same account in the previous hour and the gap to the last row
    rank = pd.factorize(acc)[0].astype(np.int64)
    order = np.lexsort((t, rank))
    key = rank[order] * (1 << 34) + t[order]
    in_hour = np.empty(len(t), np.int64)
    in_hour[order] = np.arange(len(t)) - np.searchsorted(key, key - 3600)
    gap = np.full(len(t), 1e7)
    same = rank[order][1:] == rank[order][:-1]
    gap_sorted = np.r_[1e7, np.where(same, np.diff(t[order]), 1e7)]
    gap[order] = gap_sorted
    med = pd.Series(amount).groupby(acc).transform("median").to_numpy()
    cp = tx["counterparty_id"]
    transfers = tx[cp.notna()]
    fan_out = transfers.groupby("account_id")["counterparty_id"].nunique()
    fan_in = transfers.groupby("counterparty_id")["account_id"].nunique()
    return pd.DataFrame({
        "log_amount": np.log1p(amount),
        "amount_vs_median": amount / np.maximum(med, 0.01),
        "channel": tx["channel"].cat.codes.to_numpy() if hasattr(tx["channel"], "cat")
        else pd.Categorical(tx["channel"]).codes,
        "mcc": tx["mcc"].fillna(-1).to_numpy(),
        "hour": tx["timestamp"].dt.hour.to_numpy(),
        "new_device": ((dev >= 0) & (dev != usual_dev)).astype(np.int8),
        "away": (tx["region"].to_numpy() != home_region).astype(np.int8),
        "in_last_hour": in_hour,
        "log_gap": np.log1p(gap),
        "drain_share": np.where(tx["channel"].astype(str) == "transfer",
                                amount / np.maximum(tx["balance_before"].to_numpy(), 1.0), 0.0),
        "fan_out": fan_out.reindex(acc).fillna(0).to_numpy(),
        "fan_in_cp": fan_in.reindex(cp.to_numpy()).fillna(0).to_numpy(),
        "cp_fan_out": fan_out.reindex(cp.to_numpy()).fillna(0).to_numpy(),
    }, index=tx.index)


def recall_per_typology(y: np.ndarray, score: np.ndarray, typology: np.ndarray,
                        fpr: float = 0.01) -> dict[str, float]:
    """Recall of each typology's illicit rows at the threshold giving ``fpr`` on legitimate
    rows."""
    legit = score[~y]
    thr = np.quantile(legit, 1.0 - fpr) if len(legit) else 0.5
    out = {}
    for name in sorted(set(typology[y])):
        sel = y & (typology == name)
        out[name] = float((score[sel] > thr).mean())
    return out


def history_features(tx: pd.DataFrame, accounts: pd.DataFrame,
                     customers: pd.DataFrame) -> pd.DataFrame:
    """Per-transaction features from the customer's own history up to that transaction:
    amount, time since the customer's last transaction, transactions in the last hour and
    day, share of card-not-present so far, a device never seen before for this customer,
    outside the home region, channel, category, hour, and whether it was declined. Only the
    published tables are read (never the labels); one row per transaction, same order."""
    owner = accounts.set_index("account_id")["customer_id"]
    cust = owner.reindex(tx["account_id"].to_numpy()).to_numpy()
    home = customers.set_index("customer_id")["region"].reindex(cust).to_numpy()
    t = epoch_seconds(tx["timestamp"])
    rank = pd.factorize(cust)[0].astype(np.int64)
    order = np.lexsort((np.arange(len(t)), t, rank))
    r, ts = rank[order], t[order]
    key = r * (1 << 34) + ts
    pos = np.arange(len(t))
    first = np.r_[True, r[1:] != r[:-1]] if len(t) else np.empty(0, bool)
    start = np.maximum.accumulate(np.where(first, pos, 0)) if len(t) else pos
    gap = np.where(first, 1e7, np.r_[0, np.diff(ts)])
    in_hour = pos - np.searchsorted(key, key - 3600)
    in_day = pos - np.searchsorted(key, key - 86_400)
    channel = tx["channel"].astype(str).to_numpy()
    cnp = (channel[order] == "cnp").astype(float)
    cs = np.cumsum(cnp)
    before = cs - cnp - (cs[start] - cnp[start])
    n_before = pos - start
    cnp_share = np.where(n_before > 0, before / np.maximum(n_before, 1), 0.0)
    dev = tx["device_id"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)[order]
    seen = pd.DataFrame({"c": r, "d": dev}).duplicated()
    new_dev = (~np.isnan(dev)) & ~seen.to_numpy()
    status = tx["status"].astype(str).to_numpy() if "status" in tx else \
        np.full(len(t), "approved")
    out = pd.DataFrame({
        "log_amount": np.log1p(tx["amount"].to_numpy(dtype=float)[order]),
        "log_gap": np.log1p(gap.astype(float)),
        "in_last_hour": in_hour, "in_last_day": in_day,
        "cnp_share_so_far": cnp_share,
        "new_device": new_dev.astype(np.int8),
        "away": (tx["region"].to_numpy()[order] != home[order]).astype(np.int8),
        "channel": pd.Categorical(channel[order], categories=CHANNELS).codes,
        "mcc": tx["mcc"].astype("Float64").fillna(-1).to_numpy(dtype=float)[order],
        "hour": tx["timestamp"].dt.hour.to_numpy()[order],
        "declined": (status[order] != "approved").astype(np.int8),
    })
    res = pd.DataFrame(index=np.arange(len(t)), columns=out.columns, dtype=float)
    res.iloc[order] = out.to_numpy(dtype=float)
    res.index = tx.index
    return res
