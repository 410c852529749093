"""Lone illicit events that belong to no pattern, and legitimate look-alikes of the typologies
(a real burst of small purchases, payroll fan-out, a cash business depositing near the
threshold), so that detection is not trivial."""
from __future__ import annotations

import numpy as np

from synthscape_finance import events as E
from synthscape_finance import mcc
from synthscape_finance.typologies._common import DAY, HOUR, Builder


def lone_fraud(b: Builder, acc: np.ndarray, p) -> None:
    """One fraudulent purchase that looks like the account's ordinary spending."""
    k = len(acc)
    if not k:
        return
    cat = b.rng.choice(mcc.N_MCC - 1, size=k, p=mcc.FREQ[:-1] / mcc.FREQ[:-1].sum())
    region = b.home(acc)
    from synthscape_finance.population import pick_merchants

    m = pick_merchants(b.world, cat.astype(np.int8), region, b.rng)
    cnp = b.rng.random(k) < mcc.CNP[cat]
    b.add(t=b.start_times(k, 0), acc=acc, merchant=m, channel=np.where(cnp, E.CNP, E.POS),
          amount=E.dollars(b.rng.lognormal(mcc.MU[cat] + 0.5, mcc.SIGMA[cat])),
          device=np.where(cnp, b.world.device[acc], -1), region=region, fraud=True,
          typ=E.typ_code("lone_fraud"), pid=b.pids(k), stage=E.stage_code("lone"))


def lone_laundering(b: Builder, acc: np.ndarray, p) -> None:
    """One laundering transfer to an account outside any pattern."""
    k = len(acc)
    if not k:
        return
    pid = b.pids(k)
    cp = b.rng.integers(0, b.world.n_accounts, k)
    cp = np.where(cp == acc, (cp + 1) % b.world.n_accounts, cp)
    b.add(t=b.start_times(k, 0), acc=acc, cp=cp, channel=E.TRANSFER,
          amount=E.dollars(b.rng.uniform(1_000, 15_000, k)), device=b.world.device[acc],
          region=b.home(acc), laund=True, typ=E.typ_code("lone_laundering"), pid=pid,
          stage=E.stage_code("lone"))
    b.label_accounts(acc, "lone", pid, "lone_laundering")


def small_burst(b: Builder, acc: np.ndarray, p) -> None:
    """A legitimate burst of small purchases within an hour (transit, vending, app stores),
    from the customer's own device."""
    k = len(acc)
    if not k:
        return
    pid = b.pids(k)
    n = b.rng.integers(5, 16, k)
    i = np.repeat(np.arange(k), n)
    t = b.start_times(k, HOUR)[i] + (b.rng.random(len(i)) * HOUR).astype(np.int64)
    region = b.home(acc)[i]
    m, cat = b.merchants(("transit", "fast_food", "digital_goods"), region)
    cnp = mcc.CNP[cat] > 0.5
    b.add(t=t, acc=acc[i], merchant=m, channel=np.where(cnp, E.CNP, E.POS),
          amount=E.dollars(b.rng.uniform(0.5, 8.0, len(i))),
          device=np.where(cnp, b.world.device[acc[i]], -1), region=region,
          typ=E.typ_code("small_burst"), pid=pid[i], stage=E.stage_code("lookalike"))


def payroll(b: Builder, acc: np.ndarray, p) -> None:
    """A legitimate employer paying several employees similar amounts on one day (fan-out)."""
    k = len(acc)
    if not k:
        return
    pid = b.pids(k)
    n = b.rng.integers(5, 21, k)
    i = np.repeat(np.arange(k), n)
    cp = b.rng.integers(0, b.world.n_accounts, len(i))
    cp = np.where(cp == acc[i], (cp + 1) % b.world.n_accounts, cp)
    t = b.start_times(k, DAY)[i] + (b.rng.random(len(i)) * 2 * HOUR).astype(np.int64)
    b.add(t=t, acc=acc[i], cp=cp, channel=E.TRANSFER,
          amount=E.dollars(b.rng.uniform(2_000, 6_000, len(i))), device=b.world.device[acc[i]],
          region=b.home(acc)[i], typ=E.typ_code("payroll"), pid=pid[i],
          stage=E.stage_code("lookalike"))


def cash_business(b: Builder, acc: np.ndarray, p, threshold: float = 10_000.0) -> None:
    """A legitimate cash business depositing takings, some of them just under the threshold."""
    k = len(acc)
    if not k:
        return
    pid = b.pids(k)
    n = b.rng.integers(3, 9, k)
    i = np.repeat(np.arange(k), n)
    t = b.start_times(k, 10 * DAY)[i] + (b.rng.random(len(i)) * 10 * DAY).astype(np.int64)
    b.add(t=t, acc=acc[i], channel=E.CASH_DEPOSIT,
          amount=E.dollars(b.rng.uniform(0.6 * threshold, threshold - 1, len(i))),
          region=b.home(acc)[i], typ=E.typ_code("cash_business"), pid=pid[i],
          stage=E.stage_code("lookalike"))


BUILDERS = {"lone_fraud": lone_fraud, "lone_laundering": lone_laundering,
            "small_burst": small_burst, "payroll": payroll, "cash_business": cash_business}
