"""A transaction log as entity sequences, and back: customers are the entities (the unit of
privacy), their transactions the events.

``to_sequences`` turns the simulator's table layout (transactions, tx_labels, accounts,
customers) into one entities frame and one events frame; ``to_tables`` turns a synthetic pair
back into that layout. Everything an event carries is a value of the customer's own history
(``device``: none, the customer's usual device or a new one; ``away``: outside the home
region), so no column links two customers and identifiers are never modelled: synthetic
ids are fresh random permutations, as the simulator's are.

The declared :func:`sequence_schema` holds public bounds and categories only (nothing read
from the data): amounts in (0, 50,000] dollars, the product, channel, status, merchant category
and label vocabularies of the simulator.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from synthscape_finance import events as E
from synthscape_finance import mcc, population
from synthscape_finance.spec import AML_TYPOLOGIES

ENTITY_KEY = "customer_id"
TIME_KEY = "timestamp"
DEVICE = ("none", "usual", "new")
MAX_AMOUNT = 50_000.0
MAX_INCOME = 1_000_000.0
MAX_OPENING = 1_000_000.0
LAUNDERING = frozenset((*AML_TYPOLOGIES, "lone_laundering"))
CARD_CHANNELS = ("pos", "cnp", "atm")


def sequence_schema(*, start: str, end: str, max_events: int = 256, regions: int = 8):
    """The declared :class:`~synthscape.schema.SequenceSchema` of a finance log."""
    from synthscape.schema import Column, SequenceSchema, TableSchema

    def cat(name: str, values, description: str = "", nullable: bool = False) -> Column:
        return Column(name=name, kind="categorical", categories=tuple(values),
                      nullable=nullable, description=description)

    entities = TableSchema(name="customers", columns=(
        cat("age_band", population.AGE_BANDS),
        Column(name="income", kind="numerical", lower=0, upper=MAX_INCOME),
        cat("region", [str(r) for r in range(regions)], "home region"),
        cat("segment", population.SEGMENTS),
        cat("sensitive_group", ("A", "B")),
        Column(name="opening_balance", kind="numerical", lower=0, upper=MAX_OPENING,
               description="sum of the opening balances of the customer's accounts"),
        cat("is_fraud", ("no", "yes"), "any fraudulent transaction in the history"),
    ))
    events = TableSchema(name="transactions", columns=(
        cat("account_kind", population.ACCOUNT_KINDS),
        cat("channel", E.CHANNELS),
        Column(name="amount", kind="numerical", lower=0.01, upper=MAX_AMOUNT),
        cat("mcc", [str(c) for c in mcc.CODES], nullable=True),
        cat("status", E.STATUSES),
        cat("device", DEVICE, "none (card present), the usual device, or a new one"),
        Column(name="away", kind="boolean", description="outside the home region"),
        Column(name="alerted", kind="boolean"),
        Column(name="is_fraud", kind="boolean"),
        cat("typology", E.TYPOLOGY_NAMES),
    ))
    return SequenceSchema(entities=entities, events=events, entity_key=ENTITY_KEY,
                          time_key=TIME_KEY, max_events=int(max_events),
                          time_bounds=(str(start), str(end)))


def to_sequences(transactions: pd.DataFrame, labels: pd.DataFrame | None,
                 accounts: pd.DataFrame, customers: pd.DataFrame
                 ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(entities, events)`` of a log in the simulator's layout (see the module docstring)."""
    tx = transactions
    if labels is not None:
        tx = tx.merge(labels[["tx_id", "is_fraud", "typology"]], on="tx_id", how="left",
                      validate="1:1")
    acc = accounts.set_index("account_id")
    cust = customers.set_index(ENTITY_KEY)
    owner = acc["customer_id"].reindex(tx["account_id"]).to_numpy()
    home = cust["region"].reindex(owner).to_numpy()
    dev = tx["device_id"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    usual = pd.Series(dev).groupby(owner).transform(
        lambda s: s.mode().iloc[0] if s.notna().any() else np.nan).to_numpy()
    device = np.where(np.isnan(dev), 0, np.where(dev == usual, 1, 2))
    mcc_col = tx["mcc"].astype("Int64")
    events = pd.DataFrame({
        ENTITY_KEY: owner,
        TIME_KEY: pd.to_datetime(tx["timestamp"]).to_numpy(),
        "account_kind": acc["account_kind"].reindex(tx["account_id"]).astype(str).to_numpy(),
        "channel": tx["channel"].astype(str).to_numpy(),
        "amount": tx["amount"].astype(float).clip(0.01, MAX_AMOUNT).to_numpy(),
        "mcc": mcc_col.astype(str).where(mcc_col.notna(), None).to_numpy(dtype=object),
        "status": (tx["status"].astype(str) if "status" in tx else
                   pd.Series("approved", index=tx.index)).to_numpy(),
        "device": np.asarray(DEVICE, dtype=object)[device],
        "away": tx["region"].to_numpy() != home,
        "alerted": tx["alerted"].astype(bool).to_numpy(),
        "is_fraud": tx["is_fraud"].astype(bool).to_numpy(),
        "typology": tx["typology"].astype(str).to_numpy(),
    })
    events = events.sort_values([ENTITY_KEY, TIME_KEY], kind="stable").reset_index(drop=True)
    fraud = events.groupby(ENTITY_KEY)["is_fraud"].any()
    opening = accounts.groupby("customer_id")["opening_balance"].sum()
    entities = pd.DataFrame({
        ENTITY_KEY: cust.index.to_numpy(),
        "age_band": cust["age_band"].astype(str).to_numpy(),
        "income": cust["income"].astype(float).clip(0, MAX_INCOME).to_numpy(),
        "region": cust["region"].astype(str).to_numpy(),
        "segment": cust["segment"].astype(str).to_numpy(),
        "sensitive_group": cust["sensitive_group"].astype(str).to_numpy(),
        "opening_balance": opening.reindex(cust.index).fillna(0.0).clip(0, MAX_OPENING)
        .to_numpy(),
        "is_fraud": np.where(fraud.reindex(cust.index).fillna(False).to_numpy(dtype=bool),
                             "yes", "no"),
    })
    return entities, events


def to_tables(entities: pd.DataFrame, events: pd.DataFrame, *, seed: int = 0,
              regions: int = 8) -> dict[str, pd.DataFrame]:
    """The simulator's layout (customers, accounts, transactions, tx_labels) of a synthetic
    pair, with the dtypes of the declared row schemas. Post-processing only: fresh random
    ids, one account per (customer, product) seen, merchant ids drawn within the merchant
    category, device ids from the device class, balances replayed from the approved amounts
    (declined rows post nothing), no counterparties (transfers leave the bank)."""
    from synthscape.random import derive_rng
    from synthscape.tables import conform
    from synthscape_finance.schemas import json_schema

    rng = derive_rng(int(seed), "finance.sequence_log")
    ents = entities.reset_index(drop=True)
    n_c = len(ents)
    cid = rng.permutation(n_c).astype(np.int64) + 1
    cidx = pd.Series(np.arange(n_c), index=ents[ENTITY_KEY].to_numpy())
    evs = events.sort_values([ENTITY_KEY, TIME_KEY], kind="stable").reset_index(drop=True)
    ci = cidx.reindex(evs[ENTITY_KEY].to_numpy()).to_numpy()
    if np.isnan(ci.astype(float)).any():
        raise ValueError("events name an entity that is not in the entities frame")
    ci = ci.astype(np.int64)
    seg = ents["segment"].astype(str).to_numpy()
    first_kind = np.where(seg == "small_business", "business", "checking")
    kind = evs["account_kind"].astype(str).to_numpy()
    # accounts: every (customer, product) in the events, and each customer's main product
    pairs = pd.DataFrame({"c": np.r_[np.arange(n_c), ci], "k": np.r_[first_kind, kind]})
    pairs = pairs.drop_duplicates().sort_values(["c", "k"], kind="stable").reset_index(drop=True)
    n_a = len(pairs)
    aid = rng.permutation(n_a).astype(np.int64) + 100_000
    card = rng.permutation(n_a).astype(np.int64) + 4_000_000
    key = pd.Series(np.arange(n_a), index=pd.MultiIndex.from_frame(pairs))
    ai = key.reindex(pd.MultiIndex.from_arrays([ci, kind])).to_numpy().astype(np.int64)
    main = key.reindex(pd.MultiIndex.from_arrays([np.arange(n_c), first_kind])).to_numpy()
    opening = np.zeros(n_a)
    opening[main.astype(np.int64)] = np.round(ents["opening_balance"].astype(float), 2)
    # balances replayed per account, in time order (cents)
    channel = evs["channel"].astype(str).to_numpy()
    status = evs["status"].astype(str).to_numpy()
    amount = np.round(evs["amount"].astype(float).to_numpy(), 2)
    cents = np.round(amount * 100).astype(np.int64)
    credit = np.isin(channel, ["deposit", "cash_deposit"])
    posted = np.where(status == "approved", cents, 0) * np.where(credit, 1, -1)
    t = pd.to_datetime(evs[TIME_KEY]).to_numpy()
    order = np.lexsort((np.arange(len(t)), t, ai))
    after_sorted = np.zeros(len(t), np.int64)
    if len(t):
        a_s, p_s = ai[order], posted[order]
        cs = np.cumsum(p_s)
        start = np.flatnonzero(np.r_[True, a_s[1:] != a_s[:-1]])
        base = np.repeat(cs[start] - p_s[start], np.diff(np.r_[start, len(a_s)]))
        after_sorted = np.round(opening[a_s] * 100).astype(np.int64) + cs - base
    after = np.empty_like(after_sorted)
    after[order] = after_sorted
    closing = np.round(opening * 100).astype(np.int64)
    if len(t):
        last = np.r_[start[1:] - 1, len(a_s) - 1]
        closing[a_s[last]] = after_sorted[last]
    # identifiers of merchants, devices and regions (post-processing)
    home = ents["region"].astype(int).to_numpy()[ci]
    away = evs["away"].astype(bool).to_numpy()
    region = np.where(away, (home + rng.integers(1, max(regions, 2), len(ci))) % regions, home)
    mcc_str = evs["mcc"]
    has_m = mcc_str.notna().to_numpy() & np.isin(channel, CARD_CHANNELS)
    code = np.where(has_m, pd.to_numeric(mcc_str, errors="coerce").fillna(0), 0).astype(np.int64)
    m_index = np.searchsorted(np.sort(mcc.CODES), code)
    merchant = 10_000 + (m_index * regions + region) * 50 + rng.integers(0, 50, len(ci))
    device_cls = evs["device"].astype(str).to_numpy()
    usual_dev = rng.permutation(4 * n_c + 1000)[:n_c].astype(np.int64)
    device = np.where(device_cls == "usual", usual_dev[ci],
                      4 * n_c + 1000 + np.arange(len(ci)))
    order_t = np.lexsort((np.arange(len(t)), t))
    tx_id = np.empty(len(t), np.int64)
    tx_id[order_t] = np.arange(1, len(t) + 1)
    before = after - posted
    card_ch = np.isin(channel, CARD_CHANNELS)
    none = np.zeros(len(t), bool)
    tx = pd.DataFrame({
        "tx_id": tx_id, "timestamp": t, "account_id": aid[ai],
        "card_id": _opt(card[ai], card_ch), "merchant_id": _opt(merchant, has_m),
        "mcc": _opt(code, has_m), "counterparty_id": _opt(np.zeros(len(t), np.int64), none),
        "channel": channel, "amount": amount, "status": status,
        "device_id": _opt(device, device_cls != "none"),
        "region": region.astype(np.int64),
        "balance_before": before / 100.0, "balance_after": after / 100.0,
        "cp_balance_before": _opt(np.zeros(len(t)), none, "Float64"),
        "cp_balance_after": _opt(np.zeros(len(t)), none, "Float64"),
        "alerted": evs["alerted"].astype(bool).to_numpy(),
    })
    typ = evs["typology"].astype(str).to_numpy()
    pattern = ci * 100 + pd.Categorical(typ, E.TYPOLOGY_NAMES).codes
    labels = pd.DataFrame({
        "tx_id": tx_id, "is_fraud": evs["is_fraud"].astype(bool).to_numpy(),
        "is_laundering": np.isin(typ, list(LAUNDERING)), "typology": typ,
        "pattern_id": _opt(pattern, typ != "none"), "stage": "none"})
    tx, labels = (d.iloc[order_t].reset_index(drop=True) for d in (tx, labels))
    customers = pd.DataFrame({
        "customer_id": cid, "age_band": ents["age_band"].astype(str).to_numpy(),
        "income": np.round(ents["income"].astype(float).to_numpy(), 2),
        "region": home_of(ents), "segment": seg,
        "sensitive_group": ents["sensitive_group"].astype(str).to_numpy()})
    acc_kind = pairs["k"].to_numpy()
    accounts = pd.DataFrame({
        "account_id": aid, "customer_id": cid[pairs["c"].to_numpy()], "card_id": card,
        "account_kind": acc_kind, "opening_balance": opening, "closing_balance": closing / 100,
        "default_day": _opt(np.zeros(n_a, np.int64), np.zeros(n_a, bool)),
        "alerted": pd.Series(tx["alerted"].to_numpy()).groupby(tx["account_id"].to_numpy())
        .any().reindex(aid).fillna(False).to_numpy(dtype=bool)})
    out = {"customers": customers.sort_values("customer_id", kind="stable"),
           "accounts": accounts.sort_values("account_id", kind="stable"),
           "transactions": tx, "tx_labels": labels}
    return {name: conform(df.reset_index(drop=True), json_schema(name), table=name)
            for name, df in out.items()}


def home_of(entities: pd.DataFrame) -> np.ndarray:
    return entities["region"].astype(int).to_numpy().astype(np.int64)


def _opt(values, mask: np.ndarray, dtype: str = "Int64") -> pd.Series:
    """``values`` where ``mask``, missing elsewhere (a nullable column)."""
    return pd.Series(values, dtype=dtype).mask(~np.asarray(mask, bool))
