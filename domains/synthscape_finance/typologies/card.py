"""Card and account fraud typologies. Each builder takes the accounts drawn into it and adds
events with ground-truth labels (is_fraud, typology, pattern_id, stage).

Shapes follow the fraud taxonomy of the Nilson Report and the card-testing, CNP and takeover
descriptions in the Visa Payment Fraud Disruption bulletins; amounts are illustrative.
"""
from __future__ import annotations

import numpy as np

from synthscape_finance import events as E
from synthscape_finance.typologies._common import DAY, HOUR, Builder, groups


def card_testing(b: Builder, acc: np.ndarray, p) -> None:
    k = len(acc)
    if not k:
        return
    pid = b.pids(k)
    n_probe = b.uniform_int(p.probes, k)
    n_cash = b.uniform_int(p.cashouts, k)
    t0 = b.start_times(k, 2 * DAY)
    dev = b.new_devices(k)
    region = b.rng.integers(0, b.world.n_regions, k)
    # probes: a minute or so apart
    i = np.repeat(np.arange(k), n_probe)
    gaps = b.rng.exponential(60.0, len(i))
    t = t0[i] + _cumsum_within(gaps, n_probe)
    m, _ = b.merchants(("digital_goods", "online_retail"), region[i])
    amt = b.rng.uniform(p.probe_amount[0], p.probe_amount[1], len(i))
    status = np.where(b.rng.random(len(i)) < p.declined_share, E.DECLINED_CARD, E.APPROVED)
    b.add(t=t, acc=acc[i], merchant=m, channel=E.CNP, amount=E.dollars(amt), device=dev[i],
          region=region[i], fraud=True, typ=E.typ_code("card_testing"), pid=pid[i],
          stage=E.stage_code("probe"), status=status)
    last = t0 + np.bincount(i, weights=gaps, minlength=k).astype(np.int64)
    j = np.repeat(np.arange(k), n_cash)
    t = last[j] + 60 + b.rng.exponential(2 * HOUR, len(j)).astype(np.int64)
    m, _ = b.merchants(("electronics", "jewelry", "online_retail"), region[j])
    b.add(t=t, acc=acc[j], merchant=m, channel=E.CNP,
          amount=E.dollars(b.rng.lognormal(6.0, 0.5, len(j))), device=dev[j], region=region[j],
          fraud=True, typ=E.typ_code("card_testing"), pid=pid[j], stage=E.stage_code("cashout"))


def cnp_burst(b: Builder, acc: np.ndarray, p) -> None:
    k = len(acc)
    if not k:
        return
    pid = b.pids(k)
    n = b.uniform_int(p.size, k)
    t0 = b.start_times(k, p.window_hours * HOUR)
    dev = b.new_devices(k)
    i = np.repeat(np.arange(k), n)
    t = t0[i] + (b.rng.random(len(i)) * p.window_hours * HOUR).astype(np.int64)
    region = b.home(acc)[i]
    m, _ = b.merchants(("online_retail", "digital_goods", "electronics"), region)
    b.add(t=t, acc=acc[i], merchant=m, channel=E.CNP,
          amount=E.dollars(b.rng.lognormal(4.6, 0.7, len(i))), device=dev[i], region=region,
          fraud=True, typ=E.typ_code("cnp_burst"), pid=pid[i], stage=E.stage_code("burst"))


def lost_stolen(b: Builder, acc: np.ndarray, p) -> None:
    k = len(acc)
    if not k:
        return
    pid = b.pids(k)
    n = b.uniform_int(p.size, k)
    t0 = b.start_times(k, p.window_hours * HOUR)
    nr = b.world.n_regions
    away = (b.home(acc) + b.rng.integers(1, nr, k)) % nr
    i = np.repeat(np.arange(k), n)
    t = t0[i] + (b.rng.random(len(i)) * p.window_hours * HOUR).astype(np.int64)
    m, cat = b.merchants(("grocery", "fuel", "department_store", "electronics", "jewelry",
                          "atm_cash"), away[i])
    from synthscape_finance import mcc

    channel = np.where(cat == mcc.index_of("atm_cash"), E.ATM, E.POS)
    b.add(t=t, acc=acc[i], merchant=m, channel=channel,
          amount=E.dollars(b.rng.lognormal(4.9, 0.7, len(i))), region=away[i], fraud=True,
          typ=E.typ_code("lost_stolen"), pid=pid[i], stage=E.stage_code("spree"))


def account_takeover(b: Builder, acc: np.ndarray, p) -> None:
    """A small purchase from a new device in a new region, then a transfer to an outside account
    of ``drain_share`` of the balance (set when balances are computed)."""
    k = len(acc)
    if not k:
        return
    pid = b.pids(k)
    t0 = b.start_times(k, DAY)
    dev = b.new_devices(k)
    nr = b.world.n_regions
    away = ((b.home(acc) + b.rng.integers(1, nr, k)) % nr).astype(np.int16)
    m, _ = b.merchants(("digital_goods",), away)
    b.add(t=t0, acc=acc, merchant=m, channel=E.CNP, amount=E.dollars(b.rng.uniform(1, 10, k)),
          device=dev, region=away, fraud=True, typ=E.typ_code("account_takeover"), pid=pid,
          stage=E.stage_code("access"))
    share = b.rng.uniform(p.drain_share[0], p.drain_share[1], k)
    b.add(t=t0 + 600 + (b.rng.random(k) * 6 * HOUR).astype(np.int64), acc=acc,
          channel=E.TRANSFER, amount=np.round(share * 1000).astype(np.int64), device=dev,
          region=away, fraud=True, typ=E.typ_code("account_takeover"), pid=pid,
          stage=E.stage_code("drain"), drain=True)


def merchant_compromise(b: Builder, acc: np.ndarray, p) -> None:
    """Exposure (a legitimate purchase at the breached merchant), then misuse of a share of the
    exposed cards elsewhere, ``delay_days`` later."""
    typ = E.typ_code("merchant_compromise")
    for g in groups(b.rng.permutation(acc), p.cards_per_breach, b.rng):
        k = len(g)
        pid = b.pids(1)[0]
        region = b.home(g[:1])
        merchant, _ = b.merchants(("fuel", "restaurants", "grocery"), region)
        tb = b.start_times(1, (p.delay_days[1] + 4) * DAY)[0]
        t_exp = tb + (b.rng.random(k) * 3 * DAY).astype(np.int64)
        b.add(t=t_exp, acc=g, merchant=np.full(k, merchant[0]), channel=E.POS,
              amount=E.dollars(b.rng.lognormal(3.6, 0.6, k)), region=np.full(k, region[0]),
              typ=typ, pid=pid, stage=E.stage_code("exposure"))
        used = b.rng.random(k) < p.misuse_share
        u = g[used]
        if not len(u):
            continue
        delay = b.rng.uniform(p.delay_days[0], p.delay_days[1], len(u)) * DAY
        reg = b.rng.integers(0, b.world.n_regions, len(u))
        m, _ = b.merchants(("online_retail", "electronics"), reg)
        b.add(t=t_exp[used] + delay.astype(np.int64), acc=u, merchant=m, channel=E.CNP,
              amount=E.dollars(b.rng.lognormal(5.5, 0.6, len(u))), device=b.new_devices(len(u)),
              region=reg, fraud=True, typ=typ, pid=pid, stage=E.stage_code("misuse"))


def bust_out(b: Builder, acc: np.ndarray, p) -> None:
    """First-party fraud: ordinary-looking purchases (stage build, not fraud by themselves),
    then a maxing-out spree (stage bust, fraud); the account defaults the day after."""
    k = len(acc)
    if not k:
        return
    typ = E.typ_code("bust_out")
    pid = b.pids(k)
    days = b.horizon // DAY
    bust_day = np.maximum((days * b.rng.uniform(0.6, 0.95, k)).astype(np.int64), 1)
    n = b.uniform_int(p.build_purchases, k)
    i = np.repeat(np.arange(k), n)
    t = (b.rng.random(len(i)) * bust_day[i] * DAY).astype(np.int64)
    region = b.home(acc)[i]
    m, _ = b.merchants(("grocery", "restaurants", "fuel", "department_store"), region)
    b.add(t=t, acc=acc[i], merchant=m, channel=E.POS,
          amount=E.dollars(b.rng.lognormal(3.6, 0.6, len(i))), region=region, typ=typ,
          pid=pid[i], stage=E.stage_code("build"))
    n = b.uniform_int(p.bust_purchases, k)
    j = np.repeat(np.arange(k), n)
    t = bust_day[j] * DAY + (b.rng.random(len(j)) * 2 * DAY).astype(np.int64)
    region = b.home(acc)[j]
    m, _ = b.merchants(("electronics", "jewelry", "department_store", "airlines"), region)
    b.add(t=t, acc=acc[j], merchant=m, channel=E.POS,
          amount=E.dollars(b.rng.lognormal(6.3, 0.5, len(j))), region=region, fraud=True,
          typ=typ, pid=pid[j], stage=E.stage_code("bust"))
    for a, d in zip(acc.tolist(), (bust_day + 2).tolist()):
        b.bust_day[a] = d


def _cumsum_within(gaps: np.ndarray, counts: np.ndarray) -> np.ndarray:
    c = np.cumsum(gaps)
    ends = np.cumsum(counts) - counts
    base = np.where(ends > 0, c[np.maximum(ends - 1, 0)], 0.0)
    return (c - np.repeat(base, counts)).astype(np.int64)


BUILDERS = {"card_testing": card_testing, "cnp_burst": cnp_burst, "lost_stolen": lost_stolen,
            "account_takeover": account_takeover, "merchant_compromise": merchant_compromise,
            "bust_out": bust_out}
