"""Customers, accounts, cards and merchants: the static world the simulator runs in.

Internally every entity is a dense index 0..n-1; the identifiers written out are random
permutations of those indices, so an identifier carries no information about the entity (an
identifier that encodes a role is how PaySim's fraud leaks: PaySim issue 13).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from synthscape_finance import mcc

AGE_BANDS = ("18-25", "26-40", "41-60", "61+")
AGE_P = np.array([0.14, 0.32, 0.34, 0.20])
# Median annual income in dollars by age band (order of magnitude: US Census CPS 2023 tables).
INCOME_MEDIAN = np.array([28_000.0, 58_000.0, 70_000.0, 45_000.0])
SEGMENTS = ("mass", "affluent", "small_business")
ACCOUNT_KINDS = ("checking", "savings", "business")


@dataclass
class World:
    # customers
    n_customers: int
    age_band: np.ndarray      # int8 index into AGE_BANDS
    income: np.ndarray        # float64 dollars a year
    region: np.ndarray        # int16
    segment: np.ndarray       # int8 index into SEGMENTS
    sensitive: np.ndarray     # int8 (0 = "A", 1 = "B"): a protected attribute for fairness reports
    activity: np.ndarray      # float64 multiplier of the purchase rate
    mcc_cum: np.ndarray       # (n_customers, N_MCC) cumulative per-customer MCC preferences
    # accounts (one card each)
    n_accounts: int
    owner: np.ndarray         # int32 customer index
    account_kind: np.ndarray  # int8 index into ACCOUNT_KINDS
    opening: np.ndarray       # int64 cents
    device: np.ndarray        # int32 usual device
    # merchants
    n_merchants: int
    merchant_mcc: np.ndarray  # int8 index into mcc.MCC_TABLE
    merchant_region: np.ndarray
    merchant_lat: np.ndarray
    merchant_lon: np.ndarray
    group_start: np.ndarray   # (N_MCC, regions) first merchant of each (mcc, region) block
    group_size: np.ndarray
    merchant_order: np.ndarray  # merchants sorted by (mcc, region)
    n_regions: int
    # public identifiers (random permutations)
    customer_id: np.ndarray
    account_id: np.ndarray
    card_id: np.ndarray
    merchant_id: np.ndarray
    device_pool: int


def build_world(pop, rng: np.random.Generator) -> World:
    """Draw the population described by ``pop`` (a :class:`~.spec.Population`)."""
    n_c, n_r = pop.customers, pop.regions
    age = rng.choice(len(AGE_BANDS), size=n_c, p=AGE_P).astype(np.int8)
    income = INCOME_MEDIAN[age] * rng.lognormal(0.0, 0.6, n_c)
    region_p = 1.0 / np.arange(1, n_r + 1) ** 0.8
    region = rng.choice(n_r, size=n_c, p=region_p / region_p.sum()).astype(np.int16)
    segment = np.where(income > 110_000, 1, 0).astype(np.int8)
    segment[rng.random(n_c) < 0.05] = 2
    sensitive = (rng.random(n_c) < 0.5).astype(np.int8)
    activity = rng.gamma(2.0, 0.5, n_c) * (1.0 + 0.15 * np.log1p(income / 50_000))
    # Per-customer MCC preferences: a Dirichlet around the population frequencies.
    pref = rng.gamma(mcc.FREQ * 8.0, 1.0, size=(n_c, mcc.N_MCC)) + 1e-9
    pref /= pref.sum(axis=1, keepdims=True)
    mcc_cum = np.cumsum(pref, axis=1)
    mcc_cum[:, -1] = 1.0

    extra = np.minimum(rng.poisson(pop.accounts_per_customer - 1.0, n_c), 4)
    owner = np.repeat(np.arange(n_c, dtype=np.int32), 1 + extra)
    n_a = len(owner)
    kind = np.zeros(n_a, np.int8)
    first = np.r_[True, owner[1:] != owner[:-1]]
    kind[~first] = 1
    kind[(segment[owner] == 2) & first] = 2
    opening = np.round(income[owner] / 12 * rng.lognormal(-0.5, 0.8, n_a) * 100).astype(np.int64)

    n_m = pop.merchants
    merchant_mcc = np.empty(n_m, np.int8)
    base = np.arange(n_m) % (mcc.N_MCC * n_r)  # every (mcc, region) block gets a merchant
    covered = min(n_m, mcc.N_MCC * n_r)
    merchant_mcc[:covered] = base[:covered] // n_r
    merchant_region = np.empty(n_m, np.int16)
    merchant_region[:covered] = base[:covered] % n_r
    rest = n_m - covered
    if rest > 0:
        merchant_mcc[covered:] = rng.choice(mcc.N_MCC, size=rest, p=mcc.FREQ)
        merchant_region[covered:] = rng.choice(n_r, size=rest, p=region_p / region_p.sum())
    centre = rng.uniform([25.0, -120.0], [48.0, -75.0], size=(n_r, 2))
    lat = centre[merchant_region, 0] + rng.normal(0, 0.3, n_m)
    lon = centre[merchant_region, 1] + rng.normal(0, 0.3, n_m)
    order = np.lexsort((merchant_region, merchant_mcc)).astype(np.int32)
    key = merchant_mcc[order].astype(np.int64) * n_r + merchant_region[order]
    counts = np.bincount(key, minlength=mcc.N_MCC * n_r)
    starts = np.r_[0, np.cumsum(counts)[:-1]]
    device_pool = 4 * n_a + 1000
    return World(
        n_customers=n_c, age_band=age, income=income, region=region, segment=segment,
        sensitive=sensitive, activity=activity, mcc_cum=mcc_cum,
        n_accounts=n_a, owner=owner, account_kind=kind, opening=opening,
        device=rng.permutation(device_pool)[:n_a].astype(np.int32),
        n_merchants=n_m, merchant_mcc=merchant_mcc, merchant_region=merchant_region,
        merchant_lat=lat, merchant_lon=lon,
        group_start=starts.reshape(mcc.N_MCC, n_r), group_size=counts.reshape(mcc.N_MCC, n_r),
        merchant_order=order, n_regions=n_r,
        customer_id=rng.permutation(n_c).astype(np.int64) + 1,
        account_id=rng.permutation(n_a).astype(np.int64) + 100_000,
        card_id=rng.permutation(n_a).astype(np.int64) + 4_000_000,
        merchant_id=rng.permutation(n_m).astype(np.int64) + 10_000,
        device_pool=device_pool,
    )


def pick_merchants(world: World, mcc_idx: np.ndarray, region: np.ndarray,
                   rng: np.random.Generator) -> np.ndarray:
    """A merchant of category ``mcc_idx`` in ``region`` for each event (uniform in the block)."""
    start = world.group_start[mcc_idx, region]
    size = world.group_size[mcc_idx, region]
    off = (rng.random(len(mcc_idx)) * size).astype(np.int64)
    return world.merchant_order[start + off]


def customers_table(w: World) -> pd.DataFrame:
    return pd.DataFrame({
        "customer_id": w.customer_id,
        "age_band": pd.Categorical.from_codes(w.age_band, AGE_BANDS).astype(str),
        "income": np.round(w.income, 2),
        "region": w.region.astype(np.int32),
        "segment": np.asarray(SEGMENTS)[w.segment],
        "sensitive_group": np.where(w.sensitive == 1, "B", "A"),
    }).sort_values("customer_id", kind="stable").reset_index(drop=True)


def merchants_table(w: World) -> pd.DataFrame:
    return pd.DataFrame({
        "merchant_id": w.merchant_id,
        "mcc": mcc.CODES[w.merchant_mcc],
        "category": np.asarray(mcc.NAMES)[w.merchant_mcc],
        "region": w.merchant_region.astype(np.int32),
        "lat": np.round(w.merchant_lat, 4),
        "lon": np.round(w.merchant_lon, 4),
    }).sort_values("merchant_id", kind="stable").reset_index(drop=True)
