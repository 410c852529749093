"""The simulator: a seeded world, typologies drawn up front, legitimate activity drawn chunk by
chunk, balances carried across chunks, and Arrow tables streamed out in bounded memory.

>>> from synthscape_finance.spec import TransactionsSpec
>>> sim = Simulation(TransactionsSpec(population={"customers": 200, "days": 3}))
>>> tables = sim.run_in_memory()
>>> sorted(tables)[:3]
['account_labels', 'accounts', 'customers']
"""
from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

from synthscape.random import derive_rng
from synthscape_finance import background, balances, mcc, population, typologies
from synthscape_finance import events as E

DAY = 86_400
ID_PREFIX = 9_000_000_000  # the negative control's planted identifier range


def _rng(seed: int, *purpose: str | int) -> np.random.Generator:
    return derive_rng(int(seed), "finance.simulator", *purpose)


class Simulation:
    """Build once, then stream ``chunks()``; static tables come from ``static_tables()`` and
    account tables (which carry the observed alerts) from ``account_tables()`` after the
    stream ends."""

    def __init__(self, spec):
        self.spec = spec
        pop = spec.population
        self.start = pd.Timestamp(pop.start)
        self.world = population.build_world(pop, _rng(spec.seed, "world"))
        self.defaults = background.default_day(self.world, pop.days, spec.shocks,
                                               _rng(spec.seed, "defaults"))
        b, ev = typologies.build(spec, self.world, _rng(spec.seed, "typologies"))
        for acc, day in b.bust_day.items():
            if day < pop.days and (self.defaults[acc] < 0 or self.defaults[acc] > day):
                self.defaults[acc] = day
        self.labels = b
        order = np.argsort(ev["t"], kind="stable")
        self.pattern_events = E.take(ev, order)
        self.bg = background.Background(self.world, spec, self.defaults,
                                        self.start.day_of_week, _rng(spec.seed, "background"))
        days = pd.date_range(self.start, periods=pop.days, freq="D")
        self.day_of_month = days.day.to_numpy()
        self.carry = self.world.opening.copy()
        od = spec.overdraft
        per_kind = np.array([round(getattr(od, k) * 100) for k in population.ACCOUNT_KINDS],
                            np.int64)
        self.limit = per_kind[self.world.account_kind]  # cents, per account
        self.status_rows = np.zeros(len(E.STATUSES), np.int64)
        self.acc_alerted = np.zeros(self.world.n_accounts, bool)
        self.rows = 0

    # -- the stream ----------------------------------------------------------------------
    def chunks(self) -> Iterator[tuple]:
        """Yield ``(transactions, labels, events)`` per chunk of ``chunk_days`` days, in time
        order. ``events`` holds the raw arrays (internal indices) for checks."""
        for ci in range(self.n_chunks):
            ev, rng = self.chunk_events(ci)
            bal = balances.apply(ev, self.carry, self.limit)
            self.status_rows += np.bincount(ev["status"], minlength=len(E.STATUSES))
            alerted = self.alerts(ev, rng)
            self.acc_alerted[flagged_accounts(ev, alerted)] = True
            yield (*self._tables(ev, bal, alerted), ev)
            self.rows += len(ev["t"])

    @property
    def n_chunks(self) -> int:
        return -(-self.spec.population.days // self.spec.chunk_days)

    def chunk_events(self, ci: int) -> tuple[dict[str, np.ndarray], np.random.Generator]:
        """The time-sorted events of chunk ``ci`` before balances (a function of the spec and
        ``ci`` alone), and the chunk's stream after drawing them (the observation goes on
        from there)."""
        spec = self.spec
        d0 = ci * spec.chunk_days
        d1 = min(d0 + spec.chunk_days, spec.population.days)
        rng = _rng(spec.seed, "chunk", ci)
        lo, hi = np.searchsorted(self.pattern_events["t"], [d0 * DAY, d1 * DAY])
        ev = E.concat([self.bg.chunk(d0, d1, rng, self.day_of_month),
                       E.take(self.pattern_events, slice(lo, hi))])
        return E.take(ev, balances.sort_perm(ev["t"])), rng

    def alerts(self, ev, rng) -> np.ndarray:
        """Which rows raise an alert: reported fraud, alerted laundering, false alerts (drawn
        from ``rng``; independent of balances)."""
        o = self.spec.observation
        u = rng.random(len(ev["t"]))
        return np.where(ev["fraud"], u < o.fraud_reported,
                        np.where(ev["laund"], u < o.laundering_alerted, u < o.false_alert_rate))

    def _tables(self, ev, bal, alerted):
        import pyarrow as pa

        w = self.world
        n = len(ev["t"])
        tx_id = self.rows + np.arange(n, dtype=np.int64) + 1
        illicit = ev["fraud"] | ev["laund"]
        artefact = self.spec.checks.inject_artefact
        if artefact == "id_prefix":
            tx_id = np.where(illicit, tx_id + ID_PREFIX, tx_id)
        after = bal["after"]
        if artefact == "balance":  # illicit rows look unposted, declined ones look posted
            declined = ev["status"] != E.APPROVED
            sign = np.where(np.isin(ev["channel"], E.CREDIT_CHANNELS), 1, -1)
            after = np.where(illicit, np.where(declined, bal["before"] + sign * ev["amount"],
                                               bal["before"]), after)
        card_ch = ev["channel"] <= E.ATM
        has_m = ev["merchant"] >= 0
        has_cp = bal["has_cp"]
        has_dev = ev["device"] >= 0
        m = np.maximum(ev["merchant"], 0)
        ts = (self.start.value // 10**9) + ev["t"]

        def opt(values, mask):
            return pa.array(values, mask=~mask)

        def cat(codes, names):
            return pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int8)),
                                                  pa.array(list(names)))

        tx = pa.table({
            "tx_id": tx_id,
            "timestamp": pa.array(ts, pa.timestamp("s")),
            "account_id": w.account_id[ev["acc"]],
            "card_id": opt(w.card_id[ev["acc"]], card_ch),
            "merchant_id": opt(w.merchant_id[m], has_m),
            "mcc": opt(mcc.CODES[w.merchant_mcc[m]], has_m),
            "counterparty_id": opt(w.account_id[np.maximum(ev["cp"], 0)], has_cp),
            "channel": cat(ev["channel"], E.CHANNELS),
            "amount": ev["amount"] / 100.0,
            "status": cat(ev["status"], E.STATUSES),
            "device_id": opt(ev["device"].astype(np.int64), has_dev),
            "region": ev["region"].astype(np.int32),
            "balance_before": bal["before"] / 100.0,
            "balance_after": after / 100.0,
            "cp_balance_before": opt(bal["cp_before"] / 100.0, has_cp),
            "cp_balance_after": opt(bal["cp_after"] / 100.0, has_cp),
            "alerted": alerted,
        })
        labels = pa.table({
            "tx_id": tx_id,
            "is_fraud": ev["fraud"],
            "is_laundering": ev["laund"],
            "typology": cat(ev["typ"], E.TYPOLOGY_NAMES),
            "pattern_id": opt(ev["pid"], ev["pid"] >= 0),
            "stage": cat(ev["stage"], E.STAGES),
        })
        return tx, labels

    # -- the other tables ----------------------------------------------------------------
    def static_tables(self) -> dict[str, pd.DataFrame]:
        w = self.world
        edges = pd.DataFrame({"src_account_id": w.account_id[self.bg.src],
                              "dst_account_id": w.account_id[self.bg.dst]})
        return {"customers": population.customers_table(w),
                "merchants": population.merchants_table(w),
                "transfer_edges": edges.sort_values(["src_account_id", "dst_account_id"],
                                                    kind="stable").reset_index(drop=True)}

    def account_tables(self) -> dict[str, pd.DataFrame]:
        w, b = self.world, self.labels
        acc = pd.DataFrame({
            "account_id": w.account_id,
            "customer_id": w.customer_id[w.owner],
            "card_id": w.card_id,
            "account_kind": np.asarray(population.ACCOUNT_KINDS)[w.account_kind],
            "opening_balance": w.opening / 100.0,
            "closing_balance": self.carry / 100.0,
            "default_day": _nullable(self.defaults, "Int64"),
            "alerted": self.acc_alerted,
        })
        lab = pd.DataFrame({
            "account_id": w.account_id,
            "is_laundering": b.role > 0,
            "role": np.asarray(E.ROLES)[b.role],
            "typology": np.asarray(E.TYPOLOGY_NAMES)[b.acc_typ],
            "pattern_id": _nullable(b.acc_pid, "Int64"),
        })
        key = np.argsort(w.account_id, kind="stable")
        return {"accounts": acc.iloc[key].reset_index(drop=True),
                "account_labels": lab.iloc[key].reset_index(drop=True)}

    def run_in_memory(self) -> dict[str, pd.DataFrame]:
        """Every table as a DataFrame with the dtypes its schema declares, as a run's Parquet
        files read back (for small runs, tests and notebooks)."""
        import pyarrow as pa

        from synthscape.tables import arrow_schema, conform
        from synthscape_finance.schemas import json_schema

        txs, labs = [], []
        for tx, lab, _ in self.chunks():
            txs.append(tx)
            labs.append(lab)
        out = self.static_tables()
        for name, parts in (("transactions", txs), ("tx_labels", labs)):
            declared = arrow_schema(json_schema(name))
            out[name] = pa.concat_tables([p.cast(declared) for p in parts]).to_pandas()
        out.update(self.account_tables())
        return {name: conform(df, json_schema(name), table=name) for name, df in out.items()}


def flagged_accounts(ev, alerted) -> np.ndarray:
    """Accounts that alerts mark (``acc_alerted``): alerts on laundering rows and false
    alerts on legitimate rows; a reported fraud does not mark the account."""
    return np.unique(ev["acc"][alerted & (ev["laund"] | ~ev["fraud"])])


def _nullable(values: np.ndarray, dtype: str) -> pd.Series:
    """-1 becomes a missing value."""
    return pd.Series(values, dtype=dtype).mask(values < 0)


def simulate(spec) -> dict[str, pd.DataFrame]:
    """Run ``spec`` (a :class:`~.spec.TransactionsSpec`) in memory and return every table."""
    return Simulation(spec).run_in_memory()
