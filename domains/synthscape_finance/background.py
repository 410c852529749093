"""Legitimate activity: card purchases as per-account, per-MCC rate processes with hour-of-day
and day-of-week seasonality, salary deposits, and transfers over a heavy-tailed graph."""
from __future__ import annotations

import numpy as np

from synthscape_finance import events as E
from synthscape_finance import mcc
from synthscape_finance.population import World, pick_merchants

DAY = 86_400


def transfer_graph(n: int, exponent: float, mean_degree: float,
                   rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Directed Chung-Lu graph whose expected degrees follow a power law with ``exponent``
    (Chung & Lu 2002); returns deduplicated edge arrays ``(src, dst)`` without self-loops."""
    a = exponent - 1.0
    w_out = rng.pareto(a, n) + 1.0
    w_in = rng.pareto(a, n) + 1.0
    m = int(n * mean_degree)
    src = np.searchsorted(np.cumsum(w_out) / w_out.sum(), rng.random(m)).astype(np.int64)
    dst = np.searchsorted(np.cumsum(w_in) / w_in.sum(), rng.random(m)).astype(np.int64)
    np.minimum(src, n - 1, out=src)
    np.minimum(dst, n - 1, out=dst)
    keep = src != dst
    key = np.unique(src[keep] * n + dst[keep])
    return (key // n).astype(np.int32), (key % n).astype(np.int32)


def seconds_in_day(n: int, rng: np.random.Generator) -> np.ndarray:
    hour = rng.choice(24, size=n, p=mcc.HOUR_P)
    return hour * 3600 + rng.integers(0, 3600, n)


def default_day(world: World, days: int, shocks, rng: np.random.Generator,
                base_hazard: float = 1.5e-4) -> np.ndarray:
    """Day each account defaults and goes dormant (-1: never); the hazard rises in shocks.
    Base hazard of about 5% a year (order of US credit card charge-off rates, FRB G.19)."""
    hazard = np.full(days, base_hazard)
    for s in shocks:
        hazard[s.start_day:min(s.end_day, days)] *= s.defaults
    cum = np.cumsum(hazard)
    d = np.searchsorted(cum, rng.exponential(1.0, world.n_accounts))
    return np.where(d < days, d, -1).astype(np.int32)


def spend_factor(days: int, start_dow: int, shocks) -> np.ndarray:
    f = mcc.DOW_FACTOR[(start_dow + np.arange(days)) % 7].copy()
    for s in shocks:
        f[s.start_day:min(s.end_day, days)] *= s.spending
    return f


class Background:
    """Draws the legitimate events of days ``[d0, d1)``."""

    def __init__(self, world: World, spec, defaults: np.ndarray, start_dow: int,
                 rng: np.random.Generator):
        self.w = world
        self.act = spec.activity
        self.days = spec.population.days
        self.factor = spend_factor(self.days, start_dow, spec.shocks)
        kind_rate = np.array([1.0, 0.05, 1.6])[world.account_kind]
        self.rate = self.act.purchases_per_day * world.activity[world.owner] * kind_rate
        self.defaults = np.where(defaults < 0, self.days, defaults)
        self.src, self.dst = transfer_graph(world.n_accounts, self.act.degree_exponent, 3.0, rng)
        self.payday = rng.integers(1, 29, world.n_accounts)
        self.flat_cum = (world.mcc_cum + np.arange(world.n_customers)[:, None]).ravel()
        self.income_adj = 0.25 * np.log(world.income / 55_000.0)
        self.salary = self._monthly_deposit()

    def _monthly_deposit(self) -> np.ndarray:
        """Cents deposited each payday: 70% of a month's income (a tenth of it into savings),
        raised where needed to 110% of the account's expected net outflow (purchases and
        transfers out less transfers in), so that spending is financed and an account does not
        drift to its overdraft limit and have every later debit declined."""
        w = self.w
        salary = np.round(w.income[w.owner] / 12 * 100 * 0.7).astype(np.int64)
        salary[w.account_kind == 1] //= 10
        pref = np.diff(w.mcc_cum, prepend=0.0, axis=1)
        mean_amount = (pref * np.exp(mcc.MU + mcc.SIGMA ** 2 / 2)).sum(axis=1) * \
            np.exp(self.income_adj)  # dollars, per customer
        month = 30.44
        per_edge = self.act.transfers_per_day * w.n_accounts / max(len(self.src), 1)
        transfer_mean = np.exp(4.6 + 1.1 ** 2 / 2)
        out_deg = np.bincount(self.src, minlength=w.n_accounts)
        in_deg = np.bincount(self.dst, minlength=w.n_accounts)
        need = (self.rate * mean_amount[w.owner] + (out_deg - in_deg) * per_edge *
                transfer_mean) * month * 100
        return np.maximum(salary, np.round(1.1 * need)).astype(np.int64)

    def chunk(self, d0: int, d1: int, rng: np.random.Generator,
              start_day_of_month: np.ndarray) -> dict[str, np.ndarray]:
        return E.concat([self._purchases(d0, d1, rng), self._deposits(d0, d1, start_day_of_month),
                         self._transfers(d0, d1, rng)])

    def _purchases(self, d0: int, d1: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        w = self.w
        nd = d1 - d0
        lam = self.rate[:, None] * self.factor[None, d0:d1]
        alive = np.arange(d0, d1)[None, :] < self.defaults[:, None]
        counts = rng.poisson(lam * alive)
        flat = counts.ravel()
        idx = np.repeat(np.arange(flat.size), flat)
        acc = (idx // nd).astype(np.int32)
        day = d0 + idx % nd
        n = len(acc)
        cust = w.owner[acc]
        m = (np.searchsorted(self.flat_cum, cust + rng.random(n)) - cust * mcc.N_MCC)
        m = np.clip(m, 0, mcc.N_MCC - 1).astype(np.int8)
        home = w.region[cust]
        away = rng.random(n) < self.act.travel_share
        region = np.where(away, rng.integers(0, w.n_regions, n), home).astype(np.int16)
        merchant = pick_merchants(w, m, region, rng)
        cnp = rng.random(n) < mcc.CNP[m]
        channel = np.where(cnp, E.CNP, E.POS).astype(np.int8)
        channel[m == mcc.index_of("atm_cash")] = E.ATM
        device = np.where(cnp, w.device[acc], -1)
        new = cnp & (rng.random(n) < self.act.new_device_share)
        device[new] = rng.integers(0, w.device_pool, int(new.sum()))
        dollars = rng.lognormal(mcc.MU[m] + self.income_adj[cust], mcc.SIGMA[m])
        t = day.astype(np.int64) * DAY + seconds_in_day(n, rng)
        return E.make(n, t=t, acc=acc, merchant=merchant, channel=channel,
                      amount=E.dollars(dollars), device=device, region=region)

    def _deposits(self, d0: int, d1: int, dom: np.ndarray) -> dict[str, np.ndarray]:
        blocks = []
        for d in range(d0, d1):
            acc = np.flatnonzero((self.payday == dom[d]) & (d < self.defaults))
            if len(acc):
                blocks.append(E.make(len(acc), t=d * DAY + 6 * 3600, acc=acc,
                                     channel=E.DEPOSIT, amount=self.salary[acc],
                                     region=self.w.region[self.w.owner[acc]]))
        return E.concat(blocks)

    def _transfers(self, d0: int, d1: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        w = self.w
        lam = self.act.transfers_per_day * w.n_accounts * (d1 - d0)
        n = int(rng.poisson(lam)) if len(self.src) else 0
        e = rng.integers(0, len(self.src), n) if n else np.empty(0, np.int64)
        acc, cp = self.src[e], self.dst[e]
        day = rng.integers(d0, d1, n)
        device = w.device[acc].copy()
        new = rng.random(n) < self.act.new_device_share
        device[new] = rng.integers(0, w.device_pool, int(new.sum()))
        t = day * DAY + seconds_in_day(n, rng)
        return E.make(n, t=t, acc=acc, cp=cp, channel=E.TRANSFER,
                      amount=E.dollars(rng.lognormal(4.6, 1.1, n)), device=device,
                      region=w.region[w.owner[acc]])
